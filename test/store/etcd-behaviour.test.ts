import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Etcd3 } from 'etcd3';
import { silentLogger } from '../../src/log.js';
import { EtcdStore, type EtcdStoreOptions } from '../../src/store/etcd/store.js';
import type { KubeObject, StoreEvent } from '../../src/store/types.js';
import { etcdClient, seedZone, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { startPartition, type Partition } from '../helpers/proxy.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from './suite.js';

const run = promisify(execFile);
const Z = 'cluster.local';

const svc = (name: string, ip: string, port = 80, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'shop', ...extra },
  spec: { clusterIP: ip, ports: [{ name: 'http', port, protocol: 'TCP' }] },
});
const key = (prefix: string, name: string) => `${prefix}/registry/${Z}/services/shop/${name}`;
const portOf = (s: EtcdStore, name: string) => (s.cache.get(Z, 'Service', 'shop', name)?.object.spec as { ports: Array<{ port: number }> } | undefined)?.ports[0]?.port;

// These tests kill, partition and compact etcd: they get their own, not the shared one.
describe('EtcdStore against a real etcd', function () {
  this.timeout(60_000);
  let etcd: EtcdServer;
  let client: Etcd3;
  let prefix: string;
  let n = 0;
  const stores: EtcdStore[] = [];
  const open = async (opts: Partial<EtcdStoreOptions> = {}, urls = [etcd.url]) => {
    const s = new EtcdStore({ urls, prefix, log: silentLogger(), writeWaitMs: 10_000, ...opts });
    stores.push(s);
    await s.start();
    return s;
  };
  const etcdctl = (...args: string[]) => run(requireTool('etcdctl'), ['--endpoints', etcd.url, ...args], { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 10_000 });

  before(async () => {
    etcd = await startEtcd();
    client = etcdClient(etcd.url);
  });
  after(async () => {
    client?.close();
    await etcd?.stop();
  });
  beforeEach(async () => {
    prefix = `/t${++n}`;
    await seedZone(etcd.url, prefix, Z);
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  it('an object put by hand with etcdctl is served, with the same uid on every replica', async () => {
    const a = await open();
    const b = await open();
    await etcdctl('put', key(prefix, 'web'), JSON.stringify(svc('web', '10.96.0.10')));
    const [x, y] = await Promise.all([waitFor('a', () => a.cache.get(Z, 'Service', 'shop', 'web')), waitFor('b', () => b.cache.get(Z, 'Service', 'shop', 'web'))]);
    expect(x.object.metadata.uid).to.match(/^[0-9a-f-]{36}$/).and.equal(y.object.metadata.uid);
    expect(x.object.metadata.resourceVersion).to.equal(String(x.revision)).and.equal(y.object.metadata.resourceVersion);
    const c = await open(); // a replica that lists (rather than watches) it derives the same uid
    expect(c.cache.get(Z, 'Service', 'shop', 'web')?.object.metadata.uid).to.equal(x.object.metadata.uid);
  });

  it('an invalid value is refused; the last good version keeps serving until a good one comes', async () => {
    const a = await open();
    await a.create(Z, svc('web', '10.96.0.10', 80));
    const invalid = a.stats.invalidObjects;
    await etcdctl('put', key(prefix, 'web'), JSON.stringify(svc('web', '10.96.0.10', 70000)));
    await waitFor('the refusal', () => a.stats.invalidObjects > invalid);
    await etcdctl('put', key(prefix, 'web'), '{not json');
    await etcdctl('put', key(prefix, 'web'), JSON.stringify(svc('other', '10.96.0.10')));
    await waitFor('three refusals', () => a.stats.invalidObjects >= invalid + 3);
    expect(portOf(a, 'web')).to.equal(80);
    const fresh = await open(); // a replica listing now has no good version to serve
    expect(fresh.cache.get(Z, 'Service', 'shop', 'web')).to.equal(undefined);
    await etcdctl('put', key(prefix, 'web'), JSON.stringify(svc('web', '10.96.0.10', 8080)));
    await waitFor('the fix', () => portOf(a, 'web') === 8080 && portOf(fresh, 'web') === 8080);
  });

  it('objects of a zone without a settings key are not served until the key is created; a settings change re-validates', async () => {
    const a = await open();
    const np = { ...svc('np', '10.96.0.20'), spec: { type: 'NodePort', clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80, nodePort: 30500 }] } };
    await client.put(`${prefix}/registry/example.org/services/shop/np`).value(JSON.stringify({ ...np }));
    await new Promise((r) => setTimeout(r, 200));
    expect(a.zones().map((z) => z.domain)).to.deep.equal([Z]);
    expect(a.cache.get('example.org', 'Service', 'shop', 'np')).to.equal(undefined);
    await client.put(`${prefix}/zones/example.org`).value('{"ttl": 30}');
    await waitFor('the new zone', () => a.cache.get('example.org', 'Service', 'shop', 'np'));
    expect(a.zones().find((z) => z.domain === 'example.org')?.settings.ttl).to.equal(30);
    expect(a.stats.lists.zones).to.be.greaterThan(0);
    const invalid = a.stats.invalidObjects;
    await client.put(`${prefix}/zones/example.org`).value('{"nodePortRange": "31000-32000"}');
    await waitFor('re-validation refuses np (30500 is out of the new range)', () => a.stats.invalidObjects > invalid);
    expect(a.cache.get('example.org', 'Service', 'shop', 'np'), 'its last good version keeps serving').to.not.equal(undefined);
    await client.delete().key(`${prefix}/zones/example.org`);
    await waitFor('the zone goes', () => a.zones().length === 1 && !a.cache.get('example.org', 'Service', 'shop', 'np'));
  });

  it('two replicas writing one object at the same revision: one wins, the other gets a Conflict', async () => {
    const a = await open();
    const b = await open();
    const c = await a.create(Z, svc('web', '10.96.0.10'));
    if (!c.ok) throw new Error(c.error.message);
    await waitFor('b sees it', () => b.cache.get(Z, 'Service', 'shop', 'web'));
    const [ra, rb] = await Promise.all([a.update(Z, svc('web', '10.96.0.10', 81), c.value.revision), b.update(Z, svc('web', '10.96.0.10', 82), c.value.revision)]);
    expect([ra.ok ? 'ok' : ra.error.reason, rb.ok ? 'ok' : rb.error.reason].sort()).to.deep.equal(['Conflict', 'ok']);
    const winner = ra.ok ? 81 : 82;
    await waitFor('both agree on the winner', () => portOf(a, 'web') === winner && portOf(b, 'web') === winner);
  });

  it('two replicas incrementing one counter 40 times each, read-modify-write with CAS: no lost update', async () => {
    const replicas = [await open(), await open()];
    const c = await replicas[0]!.create(Z, svc('counter', '10.96.0.30', 1000));
    if (!c.ok) throw new Error(c.error.message);
    let conflicts = 0;
    const incrementer = async (s: EtcdStore) => {
      for (let i = 0; i < 40; i++) {
        for (;;) {
          const cur = await waitFor('counter', () => s.cache.get(Z, 'Service', 'shop', 'counter'));
          const port = (cur.object.spec as { ports: Array<{ port: number }> }).ports[0]!.port;
          const r = await s.update(Z, svc('counter', '10.96.0.30', port + 1), cur.revision);
          if (r.ok) break;
          expect(r.error.reason).to.equal('Conflict');
          conflicts++;
          // The cache may not have the winner yet: wait for a newer revision before retrying.
          await waitFor('a newer version', () => (s.cache.get(Z, 'Service', 'shop', 'counter')?.revision ?? 0) > cur.revision);
        }
      }
    };
    await Promise.all(replicas.map(incrementer));
    for (const s of replicas) await waitFor('the final count', () => portOf(s, 'counter') === 1080);
    const stored = JSON.parse((await client.get(key(prefix, 'counter')).string()) ?? '{}') as KubeObject;
    expect((stored.spec as { ports: Array<{ port: number }> }).ports[0]!.port).to.equal(1080);
    expect(stored.metadata.resourceVersion, 'resourceVersion is never stored').to.equal(undefined);
    void conflicts;
  });

  it('a Service reserves its cluster IP and node port in its own transaction: a second Service asking for one is refused; released on change and delete; a stale reservation is taken over', async () => {
    const a = await open();
    const b = await open();
    const res = (what: string) => client.get(`${prefix}/allocations/${Z}/${what}`).string();
    const np = (name: string, ip: string, nodePort: number) => ({ ...svc(name, ip), spec: { type: 'NodePort', clusterIP: ip, ports: [{ name: 'http', port: 80, nodePort }] } });
    expect((await a.create(Z, np('one', '10.96.0.40', 30100))).ok).to.equal(true);
    expect([await res('clusterip/10.96.0.40'), await res('nodeport/30100')]).to.deep.equal(['shop/one', 'shop/one']);
    const taken = await b.create(Z, np('two', '10.96.0.40', 30101));
    expect(taken.ok ? 'ok' : taken.error).to.deep.include({ reason: 'Invalid', allocation: { ips: ['10.96.0.40'], ports: [] } });
    expect(taken.ok ? '' : taken.error.message).to.equal('spec.clusterIPs: Invalid value: ["10.96.0.40"]: failed to allocate IP 10.96.0.40: provided IP is already allocated');
    expect(await res('nodeport/30101'), 'nothing of the refused write is stored').to.equal(null);
    const race = await Promise.all([a.create(Z, svc('x', '10.96.0.41')), b.create(Z, svc('y', '10.96.0.41'))]);
    expect(race.map((r) => (r.ok ? 'ok' : r.error.reason)).sort()).to.deep.equal(['Invalid', 'ok']);
    expect(a.stats.allocationConflicts + b.stats.allocationConflicts).to.equal(2);
    const moved = await a.update(Z, np('one', '10.96.0.42', 30100));
    expect(moved.ok, JSON.stringify(moved)).to.equal(true);
    expect([await res('clusterip/10.96.0.40'), await res('clusterip/10.96.0.42'), await res('nodeport/30100')]).to.deep.equal([null, 'shop/one', 'shop/one']);
    expect((await a.delete(Z, { kind: 'Service', namespace: 'shop', name: 'one' })).ok).to.equal(true);
    expect([await res('clusterip/10.96.0.42'), await res('nodeport/30100')]).to.deep.equal([null, null]);
    // A reservation whose Service is gone (deleted by hand) does not block the address forever.
    await client.put(`${prefix}/allocations/${Z}/clusterip/10.96.0.43`).value('shop/ghost');
    expect((await b.create(Z, svc('three', '10.96.0.43'))).ok).to.equal(true);
    expect(await res('clusterip/10.96.0.43')).to.equal('shop/three');
  });

  it('a listing larger than a page is complete', async () => {
    const writes = [];
    for (let i = 0; i < 53; i++) writes.push(client.put(key(prefix, `s${i}`)).value(JSON.stringify(svc(`s${i}`, `10.96.1.${i + 1}`))));
    await Promise.all(writes);
    const a = await open({ pageSize: 7 });
    expect(a.cache.list('Service').length).to.equal(53);
    expect(a.revision).to.equal(Number((await client.get(key(prefix, 's0')).exec()).header.revision));
  });

  it('a periodic relist that finds nothing new changes nothing', async () => {
    const a = await open({ relistMs: 150 });
    await a.create(Z, svc('web', '10.96.0.10'));
    const events: StoreEvent[] = [];
    a.cache.onChange((b) => events.push(...b));
    await waitFor('three periodic relists', () => a.stats.lists.periodic >= 3, 10_000);
    expect(events).to.deep.equal([]);
  });

  describe('a replica cut off from etcd (a network partition)', () => {
    let link: Partition;
    beforeEach(async () => {
      link = await startPartition(etcd.clientPort);
    });
    afterEach(() => link.close());

    it('keeps its cache and says not synced; history compacted meanwhile: the watch is cancelled, it relists and converges, and cache watchers get the changes', async () => {
      const writer = await open();
      for (const [i, name] of ['keep', 'change', 'drop'].entries()) await writer.create(Z, svc(name, `10.96.0.${i + 1}`));
      const cut = await open({}, [`http://127.0.0.1:${link.port}`]);
      await waitFor('synced', () => cut.status().synced);
      expect(cut.cache.list('Service').map((o) => o.key.name)).to.deep.equal(['change', 'drop', 'keep']);
      const from = cut.cache.revision;
      const seen: StoreEvent[] = [];
      const stop = cut.cache.watch(from, (e) => seen.push(e));

      link.cut();
      await waitFor('not synced', () => !cut.status().synced);
      expect(cut.status()).to.include({ loaded: true, synced: false });
      expect(cut.status().detail).to.match(/^etcd: not synced: unreachable since .*serving the last snapshot/);
      const during = await cut.create(Z, svc('nope', '10.96.0.99'));
      expect(during.ok ? 'ok' : during.error.reason).to.equal('ServiceUnavailable');

      const changed = await writer.update(Z, svc('change', '10.96.0.6', 8080));
      await writer.delete(Z, { kind: 'Service', namespace: 'shop', name: 'drop' });
      await writer.create(Z, svc('new', '10.96.0.7'));
      if (!changed.ok) throw new Error(changed.error.message);
      await writer.compact(writer.revision);
      expect(cut.cache.list('Service').map((o) => o.key.name), 'nothing changed while cut off').to.deep.equal(['change', 'drop', 'keep']);

      link.heal();
      await waitFor('the relist', () => cut.stats.lists['watch-cancelled'] > 0, 20_000);
      await waitFor('synced again', () => cut.status().synced, 20_000);
      expect(cut.stats.watchCancels).to.be.greaterThan(0);
      expect(cut.cache.list('Service').map((o) => o.key.name)).to.deep.equal(['change', 'keep', 'new']);
      expect(portOf(cut, 'change')).to.equal(8080);
      expect(cut.cache.get(Z, 'Service', 'shop', 'change')?.revision).to.equal(changed.value.revision);
      expect(seen.map((e) => `${e.type} ${e.object.key.name}`).sort()).to.deep.equal(['ADDED new', 'DELETED drop', 'MODIFIED change']);
      if (typeof stop === 'function') stop();
      // And it follows live changes again.
      await writer.create(Z, svc('later', '10.96.0.8'));
      await waitFor('a live change', () => cut.cache.get(Z, 'Service', 'shop', 'later'));
    });

    it('without a compaction, the watch resumes where it stopped: no relist, nothing missed', async () => {
      const writer = await open();
      const cut = await open({}, [`http://127.0.0.1:${link.port}`]);
      await waitFor('synced', () => cut.status().synced);
      link.cut();
      await waitFor('not synced', () => !cut.status().synced);
      for (let i = 0; i < 5; i++) await writer.create(Z, svc(`w${i}`, `10.96.0.${i + 1}`));
      link.heal();
      await waitFor('all five', () => cut.cache.list('Service').length === 5, 20_000);
      await waitFor('synced again', () => cut.status().synced);
      expect(cut.stats.lists).to.include({ initial: 1, 'watch-cancelled': 0, 'etcd-restored': 0 });
      expect(cut.stats.outages).to.equal(1);
    });
  });

  it('etcd killed and restarted: the cache stays, writes are ServiceUnavailable, then it converges', async () => {
    const a = await open();
    const b = await open();
    await a.create(Z, svc('web', '10.96.0.10'));
    await waitFor('b has web', () => b.cache.get(Z, 'Service', 'shop', 'web'));
    await etcd.kill();
    await waitFor('a not synced', () => !a.status().synced);
    expect(a.cache.get(Z, 'Service', 'shop', 'web')).to.not.equal(undefined);
    const w = await a.create(Z, svc('down', '10.96.0.11'));
    expect(w.ok ? 'ok' : w.error.reason).to.equal('ServiceUnavailable');
    await etcd.restart();
    client.close();
    client = etcdClient(etcd.url);
    const r = await b.create(Z, svc('after', '10.96.0.12'));
    expect(r.ok, JSON.stringify(r)).to.equal(true);
    await waitFor('a converges', () => a.cache.get(Z, 'Service', 'shop', 'after'), 20_000);
    await waitFor('a synced', () => a.status().synced, 20_000);
  });

  // It replaces etcd's data; every test seeds its own prefix, so the ones after it do not mind.
  it('etcd replaced by a new cluster (a restore, a rebuild): the replica notices and relists', async () => {
    const a = await open();
    for (let i = 0; i < 5; i++) await a.create(Z, svc(`old${i}`, `10.96.0.${i + 1}`));
    await waitFor('synced', () => a.status().synced);
    await etcd.restart(true);
    client.close();
    client = etcdClient(etcd.url);
    await seedZone(etcd.url, prefix, Z);
    await client.put(key(prefix, 'fresh')).value(JSON.stringify(svc('fresh', '10.96.0.50')));
    await waitFor('the relist', () => a.stats.lists['etcd-restored'] > 0, 20_000);
    await waitFor('only the new object', () => a.cache.list('Service').map((o) => o.key.name).join() === 'fresh', 20_000);
    await client.put(key(prefix, 'fresh2')).value(JSON.stringify(svc('fresh2', '10.96.0.51')));
    await waitFor('it follows the new cluster', () => a.cache.get(Z, 'Service', 'shop', 'fresh2'));
  });
});
