import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { silentLogger } from '../../src/log.js';
import { EtcdStore } from '../../src/store/etcd/store.js';
import type { KubeObject } from '../../src/store/types.js';
import { etcdClient, freePort, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { FIXTURE_ZONES } from '../helpers/server.js';
import { BIN, dig, runCli, startServe, type ServeProcess } from '../helpers/tools.js';

const Z = 'cluster.local';

/** eventually polls an async condition until it holds. */
async function eventually(what: string, probe: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const a = async (port: number, name: string, type = 'A') => (await dig(port, ['+short', type, name])).trim().split('\n').filter(Boolean).sort();
const ready = async (s: ServeProcess) => {
  const res = await fetch(`http://127.0.0.1:${s.httpPort}/ready`);
  return { status: res.status, body: await res.text() };
};

interface RegisterProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function startRegister(args: string[]): Promise<RegisterProcess> {
  const child = spawn(process.execPath, [BIN, 'register', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`register did not start:\n${out}`)), 15_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (/"msg":"registered"/.test(out)) {
        clearTimeout(timer);
        resolve({ child, output: () => out, exited });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`register exited with ${code}:\n${out}`));
    });
  });
}

const slice = (name: string, service: string, ips: string[]): KubeObject => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name, namespace: 'shop', labels: { 'kubernetes.io/service-name': service } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080 }],
  endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
});

describe('e2e: three svcdns replicas sharing one etcd', function () {
  this.timeout(90_000);
  let etcd: EtcdServer;
  let client: Etcd3;
  let replicas: ServeProcess[] = [];
  let writer: EtcdStore;
  let dir: string;

  before(async () => {
    etcd = await startEtcd();
    client = etcdClient(etcd.url);
    dir = await mkdtemp(join(tmpdir(), 'svcdns-etcd-e2e-'));
    const imported = await runCli(['import', '--zones', FIXTURE_ZONES, '--etcd', etcd.url]);
    expect(imported.code, imported.stderr).to.equal(0);
    expect(imported.stdout).to.match(/^imported 2 zone\(s\) \(cluster\.local, example\.test\) into \/svcdns\/: \d+ created, 0 updated, 0 unchanged\n$/);
    replicas = await Promise.all([1, 2, 3].map(() => startServe(['--etcd', etcd.url, '--dns', '127.0.0.1:0'])));
    writer = new EtcdStore({ urls: [etcd.url], log: silentLogger() });
    await writer.start();
    await writer.create(Z, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'edge', namespace: 'shop' }, spec: { clusterIP: 'None', ports: [{ name: 'http', port: 8080 }] } });
  });
  after(async () => {
    await writer?.close();
    await Promise.all(replicas.map((r) => r.stop()));
    client?.close();
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('every replica serves the imported registry and says ready', async () => {
    for (const r of replicas) {
      await eventually('the fixture', async () => (await a(r.port, 'db.data.svc.cluster.local')).length === 2);
      expect(await a(r.port, 'db.data.svc.cluster.local')).to.deep.equal(['10.244.1.20', '10.244.2.21']);
      const rd = await ready(r);
      expect(rd.status).to.equal(200);
      expect(rd.body).to.match(/^OK\netcd: watching \/svcdns\/ at revision \d+\n$/);
    }
  });

  it('20 writes through one writer are answered by all three replicas', async () => {
    for (let i = 1; i <= 20; i++) {
      const ips = [`192.0.2.${i}`, `192.0.2.${100 + i}`];
      const existing = writer.cache.get(Z, 'EndpointSlice', 'shop', 'edge-1');
      const r = existing ? await writer.update(Z, slice('edge-1', 'edge', ips), existing.revision) : await writer.create(Z, slice('edge-1', 'edge', ips));
      expect(r.ok, JSON.stringify(r)).to.equal(true);
      for (const rep of replicas) await eventually(`replica ${rep.port} write ${i}`, async () => (await a(rep.port, 'edge.shop.svc.cluster.local')).join() === ips.sort().join());
    }
  });

  describe('self-registration', () => {
    it('refuses a Service that does not exist, saying how to go on', async () => {
      const r = await runCli(['register', '--service', 'shop/ghost', '--ip', '192.0.2.9', '--port', '80', '--etcd', etcd.url]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/Service shop\/ghost does not exist in zone cluster\.local; .*--create-service/);
      expect(await client.getAll().prefix('/svcdns/registry/cluster.local/endpointslices/shop/ghost').keys()).to.deep.equal([]);
    });

    it('--create-service: the endpoint appears on every replica, and SIGTERM removes it at once', async () => {
      const reg = await startRegister(['--service', 'shop/app', '--create-service', '--ip', '192.0.2.50', '--port', '8080', '--port-name', 'http', '--hostname', 'inst-1', '--ttl', '30s', '--etcd', etcd.url]);
      for (const r of replicas) {
        await eventually('the endpoint', async () => (await a(r.port, 'app.shop.svc.cluster.local')).join() === '192.0.2.50');
        expect(await a(r.port, 'inst-1.app.shop.svc.cluster.local')).to.deep.equal(['192.0.2.50']);
        expect(await a(r.port, '_http._tcp.app.shop.svc.cluster.local', 'SRV')).to.deep.equal(['0 100 8080 inst-1.app.shop.svc.cluster.local.']);
      }
      reg.child.kill('SIGTERM');
      expect(await reg.exited).to.equal(0);
      expect(reg.output()).to.match(/lease revoked/);
      // Gone long before the 30 s TTL: the lease was revoked, not left to expire.
      for (const r of replicas) await eventually('the endpoint goes', async () => (await a(r.port, 'app.shop.svc.cluster.local')).length === 0, 5_000);
      expect(await a(replicas[0]!.port, 'app.shop.svc.cluster.local', 'ANY').catch(() => [])).to.not.include('192.0.2.50');
    });

    it('kill -9: the endpoint vanishes from every replica within the TTL', async () => {
      const reg = await startRegister(['--service', 'shop/app', '--ip', '192.0.2.51', '--port', '8080', '--ttl', '2s', '--etcd', etcd.url]);
      for (const r of replicas) await eventually('the endpoint', async () => (await a(r.port, 'app.shop.svc.cluster.local')).join() === '192.0.2.51');
      // Kept alive past its TTL while the process lives.
      await new Promise((r) => setTimeout(r, 3000));
      expect(await a(replicas[1]!.port, 'app.shop.svc.cluster.local')).to.deep.equal(['192.0.2.51']);
      const killed = Date.now();
      reg.child.kill('SIGKILL');
      await reg.exited;
      for (const r of replicas) await eventually('the endpoint expires', async () => (await a(r.port, 'app.shop.svc.cluster.local')).length === 0, 20_000);
      // etcd expires leases on its own clock (TTL plus up to a second or so): generous bound.
      expect(Date.now() - killed).to.be.lessThan(10_000);
    });
  });

  it('etcd killed: every replica keeps answering from its snapshot and says not synced; restarted: they converge', async () => {
    const before = await a(replicas[0]!.port, 'edge.shop.svc.cluster.local');
    expect(before.length).to.equal(2);
    await etcd.kill();
    for (const r of replicas) {
      await eventually('not synced', async () => /not synced: unreachable since/.test((await ready(r)).body));
      const rd = await ready(r);
      expect(rd.status, 'still ready: it serves its last snapshot').to.equal(200);
      expect(rd.body).to.match(/^OK\netcd: not synced: unreachable since .*; serving the last snapshot \(revision \d+\)\n$/);
      expect(await a(r.port, 'edge.shop.svc.cluster.local')).to.deep.equal(before);
      expect(await a(r.port, 'db.data.svc.cluster.local')).to.deep.equal(['10.244.1.20', '10.244.2.21']);
    }
    await new Promise((r) => setTimeout(r, 1500)); // an outage of a while, with retries
    await etcd.restart();
    const cur = writer.cache.get(Z, 'EndpointSlice', 'shop', 'edge-1')!;
    let written = await writer.update(Z, slice('edge-1', 'edge', ['192.0.2.222']), cur.revision);
    for (let i = 0; !written.ok && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 200)); // the writer's own connection comes back too
      written = await writer.update(Z, slice('edge-1', 'edge', ['192.0.2.222']));
    }
    expect(written.ok, JSON.stringify(written)).to.equal(true);
    for (const r of replicas) {
      await eventually('the new write', async () => (await a(r.port, 'edge.shop.svc.cluster.local')).join() === '192.0.2.222', 30_000);
      await eventually('synced', async () => /^OK\netcd: watching/.test((await ready(r)).body));
    }
    const logs = replicas[0]!.output().split('\n').filter((l) => /etcd unreachable|etcd reachable again/.test(l));
    expect(logs.length, 'the outage is logged once, not once per retry').to.equal(2);
  });

  it('export, then import into another prefix: the same registry; a second import changes nothing', async () => {
    const out = join(dir, 'exported');
    const ex = await runCli(['export', '--zones', out, '--etcd', etcd.url]);
    expect(ex.code, ex.stderr).to.equal(0);
    expect(ex.stdout).to.match(/^exported \d+ objects in 2 zone\(s\) \(cluster\.local, example\.test\) from etcd revision \d+ to /);
    const check = await runCli(['check', '--zones', out]);
    expect(check.code, check.stdout).to.equal(0);
    const im = await runCli(['import', '--zones', out, '--etcd', etcd.url, '--etcd-prefix', '/copy']);
    expect(im.code, im.stderr).to.equal(0);
    const again = await runCli(['import', '--zones', out, '--etcd', etcd.url, '--etcd-prefix', '/copy']);
    expect(again.stdout).to.match(/: 0 created, 0 updated, \d+ unchanged\n$/);
    const dump = async (prefix: string) => {
      const all = await client.getAll().prefix(`${prefix}/`).strings();
      // Objects and settings are JSON; reservations (allocations/) hold their Service's namespace/name.
      return Object.fromEntries(Object.entries(all).filter(([k]) => k !== `${prefix}/sync`).map(([k, v]) => [k.slice(prefix.length), k.includes('/allocations/') ? v : (JSON.parse(v) as unknown)]));
    };
    // The same objects, uid and creationTimestamp included, and the same reservations.
    const [orig, copy] = await Promise.all([dump('/svcdns'), dump('/copy')]);
    expect(Object.keys(copy).sort()).to.deep.equal(Object.keys(orig).sort());
    for (const k of Object.keys(orig)) expect(copy[k], k).to.deep.equal(orig[k]);
    // And the exported folder serves what the replicas serve.
    const fromFiles = await startServe(['--zones', out, '--dns', '127.0.0.1:0']);
    try {
      for (const name of ['db.data.svc.cluster.local', 'edge.shop.svc.cluster.local', 'web.shop.svc.cluster.local']) expect(await a(fromFiles.port, name), name).to.deep.equal(await a(replicas[0]!.port, name));
    } finally {
      await fromFiles.stop();
    }
  });

  it('import refuses a folder with problems, naming file:line, unless --skip-invalid', async () => {
    const bad = join(dir, 'bad', Z);
    await mkdir(bad, { recursive: true });
    await writeFile(join(bad, 'x.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: fine, namespace: imp}\nspec: {clusterIP: 10.96.5.1}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: broken, namespace: imp}\nspec:\n  ports: [{port: 70000}]\n');
    const refused = await runCli(['import', '--zones', join(dir, 'bad'), '--etcd', etcd.url]);
    expect(refused.code).to.equal(1);
    expect(refused.stdout).to.match(/x\.yaml:10: spec\.ports\[0\]\.port: must be a port number between 1 and 65535, not 70000\nnothing imported: 1 problem/);
    expect(await client.get('/svcdns/registry/cluster.local/services/imp/fine').string()).to.equal(null);
    const skipped = await runCli(['import', '--zones', join(dir, 'bad'), '--etcd', etcd.url, '--skip-invalid']);
    expect(skipped.code).to.equal(0);
    expect(skipped.stdout).to.match(/1 created, 0 updated, 0 unchanged, 1 problem\(s\) skipped/);
    expect(skipped.stderr).to.match(/^skipped: .*x\.yaml:10: /);
    for (const r of replicas) await eventually('the imported Service', async () => (await a(r.port, 'fine.imp.svc.cluster.local')).join() === '10.96.5.1');
    expect(await readFile(join(bad, 'x.yaml'), 'utf8')).to.match(/broken/);
  });
});

describe('e2e: a replica started before etcd', function () {
  this.timeout(60_000);
  it('answers SERVFAIL and /ready 503 until etcd comes, then serves', async () => {
    const port = await freePort();
    const s = await startServe(['--etcd', `http://127.0.0.1:${port}`, '--dns', '127.0.0.1:0']);
    let etcd: EtcdServer | undefined;
    try {
      await new Promise((r) => setTimeout(r, 500));
      const rd = await ready(s);
      expect(rd.status).to.equal(503);
      expect(rd.body).to.match(/^registry: not loaded\netcd: not listed yet: .*(ECONNREFUSED|UNAVAILABLE)/);
      expect(await dig(s.port, ['web.shop.svc.cluster.local'])).to.match(/status: SERVFAIL/);
      etcd = await startEtcd({ clientPort: port });
      const c = etcdClient(etcd.url);
      await c.put('/svcdns/zones/cluster.local').value('{}');
      await c.put('/svcdns/registry/cluster.local/services/shop/web').value(JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec: { clusterIP: '10.96.0.10' } }));
      c.close();
      await eventually('ready', async () => (await ready(s)).status === 200, 30_000);
      await eventually('the answer', async () => (await a(s.port, 'web.shop.svc.cluster.local')).join() === '10.96.0.10');
      expect(s.output()).to.match(/"msg":"registry loaded"/);
    } finally {
      await s.stop();
      await etcd?.stop();
    }
  });

  it('serve --etcd with a bad URL is a usage error', async () => {
    const r = await runCli(['serve', '--etcd', 'localhost:2379']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.equal('svcdns serve: --etcd localhost:2379: expected an http:// or https:// etcd client URL, e.g. http://127.0.0.1:2379\n');
  });
});
