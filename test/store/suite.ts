/**
 * The behaviour every ObjectStore (files, etcd) must have, as one suite: each store's test file
 * calls storeSuite with a factory, as honojs/hono's routers share common.case.test.ts.
 */
import { expect } from 'chai';
import type { KubeObject, ObjectStore, StoreEvent } from '../../src/store/types.js';

/** StoreFixture is a started store over a registry that holds zone cluster.local with no objects. */
export interface StoreFixture {
  store: ObjectStore;
  /** A second store over the same data (another replica). */
  peer: ObjectStore;
  cleanup(): Promise<void>;
}

const svc = (name: string, ip: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'shop', labels: { app: name } },
  spec: { clusterIP: ip, ports: [{ name: 'http', port: 80, protocol: 'TCP' }], ...extra },
});

/** waitFor polls a condition until it holds (stores that follow changes do so asynchronously). */
export async function waitFor<T>(what: string, probe: () => T | undefined | false, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** storeSuite registers the shared cases. */
export function storeSuite(name: string, open: () => Promise<StoreFixture>): void {
  describe(`${name}: the ObjectStore contract`, () => {
    let fx: StoreFixture;
    beforeEach(async () => {
      fx = await open();
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    it('create stores the object with server fields and a new revision; get and list see it', async () => {
      const before = fx.store.cache.revision;
      const r = await fx.store.create('cluster.local', svc('web', '10.96.0.10'));
      expect(r.ok, JSON.stringify(r)).to.equal(true);
      if (!r.ok) return;
      expect(r.value.revision).to.be.greaterThan(before);
      const meta = r.value.object.metadata;
      expect(meta.resourceVersion).to.equal(String(r.value.revision));
      expect(meta.uid).to.match(/^[0-9a-f-]{36}$/);
      expect(meta.creationTimestamp).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(fx.store.cache.get('cluster.local', 'Service', 'shop', 'web')?.revision).to.equal(r.value.revision);
      expect(fx.store.cache.list('Service', 'shop').map((o) => o.key.name)).to.deep.equal(['web']);
    });

    it('create of an existing object is AlreadyExists', async () => {
      await fx.store.create('cluster.local', svc('web', '10.96.0.10'));
      const r = await fx.store.create('cluster.local', svc('web', '10.96.0.11'));
      expect(r.ok ? 'ok' : r.error.reason).to.equal('AlreadyExists');
    });

    it('update with the current revision replaces; with a stale one is a Conflict; uid and creationTimestamp stay', async () => {
      const c = await fx.store.create('cluster.local', svc('web', '10.96.0.10'));
      if (!c.ok) throw new Error('create failed');
      const u = await fx.store.update('cluster.local', svc('web', '10.96.0.10', { ports: [{ name: 'http', port: 8080 }] }), c.value.revision);
      expect(u.ok, JSON.stringify(u)).to.equal(true);
      if (!u.ok) return;
      expect(u.value.revision).to.be.greaterThan(c.value.revision);
      expect(u.value.object.metadata.uid).to.equal(c.value.object.metadata.uid);
      expect(u.value.object.metadata.creationTimestamp).to.equal(c.value.object.metadata.creationTimestamp);
      const stale = await fx.store.update('cluster.local', svc('web', '10.96.0.10'), c.value.revision);
      expect(stale.ok ? 'ok' : stale.error.reason).to.equal('Conflict');
      const missing = await fx.store.update('cluster.local', svc('nope', '10.96.0.12'));
      expect(missing.ok ? 'ok' : missing.error.reason).to.equal('NotFound');
    });

    it('delete removes; a stale revision is a Conflict; a missing object NotFound', async () => {
      const c = await fx.store.create('cluster.local', svc('web', '10.96.0.10'));
      if (!c.ok) throw new Error('create failed');
      const key = { kind: 'Service', namespace: 'shop', name: 'web' } as const;
      const stale = await fx.store.delete('cluster.local', key, c.value.revision - 1);
      expect(stale.ok ? 'ok' : stale.error.reason).to.equal('Conflict');
      const d = await fx.store.delete('cluster.local', key, c.value.revision);
      expect(d.ok).to.equal(true);
      expect(fx.store.cache.get('cluster.local', 'Service', 'shop', 'web')).to.equal(undefined);
      const again = await fx.store.delete('cluster.local', key);
      expect(again.ok ? 'ok' : again.error.reason).to.equal('NotFound');
    });

    it('a watch from a revision replays later events in order, then follows live ones', async () => {
      const from = fx.store.cache.revision;
      await fx.store.create('cluster.local', svc('a', '10.96.0.20'));
      const seen: StoreEvent[] = [];
      const stop = fx.store.cache.watch(from, (e) => seen.push(e));
      expect(stop).to.not.equal('expired');
      await fx.store.create('cluster.local', svc('b', '10.96.0.21'));
      await fx.store.delete('cluster.local', { kind: 'Service', namespace: 'shop', name: 'a' });
      await waitFor('3 events', () => seen.length >= 3);
      expect(seen.map((e) => `${e.type} ${e.object.key.name}`)).to.deep.equal(['ADDED a', 'ADDED b', 'DELETED a']);
      const revs = seen.map((e) => e.object.revision);
      expect([...revs].sort((x, y) => x - y)).to.deep.equal(revs);
      if (typeof stop === 'function') stop();
    });

    it('a write through one replica is seen by the other', async () => {
      const peer = fx.peer;
      const c = await fx.store.create('cluster.local', svc('web', '10.96.0.10'));
      if (!c.ok) throw new Error('create failed');
      await waitFor('the peer sees it', () => peer.cache.get('cluster.local', 'Service', 'shop', 'web'));
    });
  });
}
