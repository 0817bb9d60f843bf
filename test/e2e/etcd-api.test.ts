import { expect } from 'chai';
import type { Etcd3 } from 'etcd3';
import { etcdClient, seedZone, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { startServe, type ServeProcess } from '../helpers/tools.js';

type Obj = Record<string, unknown> & { metadata: Record<string, unknown>; spec?: Record<string, unknown> };

/** eventually polls an async condition until it holds. */
async function eventually(what: string, probe: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// The registry API of two `serve --etcd` replicas: a write through either one goes to etcd with
// compare-and-swap, and allocation is collision-free across them.
describe('e2e: the registry API on two replicas sharing etcd', function () {
  this.timeout(90_000);
  let etcd: EtcdServer;
  let client: Etcd3;
  let replicas: ServeProcess[] = [];
  const base = (r: ServeProcess) => `http://127.0.0.1:${r.httpPort}/api/v1/namespaces/default/services`;
  const call = async (r: ServeProcess, method: string, path: string, body?: unknown, contentType = 'application/json') => {
    const res = await fetch(`${base(r)}${path}`, { method, headers: { 'Content-Type': contentType }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, body: (await res.json()) as Obj };
  };
  const svc = (name: string, spec: Record<string, unknown> = {}, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, labels }, spec: { ports: [{ name: 'http', port: 80 }], ...spec } });

  before(async () => {
    etcd = await startEtcd();
    client = etcdClient(etcd.url);
    // A small range, so that replicas allocating at the same moment pick the same values often.
    await seedZone(etcd.url, '/svcdns', 'cluster.local', { serviceCIDRs: ['10.96.0.0/27'], nodePortRange: '30000-30031' });
    replicas = await Promise.all([1, 2].map(() => startServe(['--etcd', etcd.url, '--dns', '127.0.0.1:0', '--insecure-allow-writes'])));
    for (const r of replicas) await eventually('ready', async () => (await fetch(`http://127.0.0.1:${r.httpPort}/ready`)).status === 200);
  });
  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    client?.close();
    await etcd?.stop();
  });

  it('two replicas replacing one object with the same resourceVersion: one 200, one 409 Conflict; both then show the winner', async () => {
    const [a, b] = replicas as [ServeProcess, ServeProcess];
    const created = await call(a, 'POST', '', svc('race', { clusterIP: 'None' }, { v: '0' }));
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const rv = created.body.metadata.resourceVersion;
    await eventually('b has it', async () => (await call(b, 'GET', '/race')).status === 200);
    const put = (r: ServeProcess, v: string) => call(r, 'PUT', '/race', { ...svc('race', { clusterIP: 'None' }, { v }), metadata: { name: 'race', labels: { v }, resourceVersion: rv } });
    const [ra, rb] = await Promise.all([put(a, 'a'), put(b, 'b')]);
    expect([ra.status, rb.status].sort()).to.deep.equal([200, 409]);
    const loser = ra.status === 409 ? ra : rb;
    expect(loser.body).to.include({ kind: 'Status', reason: 'Conflict' });
    expect(String(loser.body.message)).to.match(/the object has been modified; please apply your changes to the latest version and try again/);
    const winner = ra.status === 200 ? 'a' : 'b';
    for (const r of replicas) await eventually('the winner everywhere', async () => ((await call(r, 'GET', '/race')).body.metadata.labels as Record<string, string>).v === winner);
  });

  it('unconditional merge patches through both replicas at once: every one lands (no lost update, no 409)', async () => {
    const [a, b] = replicas as [ServeProcess, ServeProcess];
    expect((await call(a, 'POST', '', svc('labels', { clusterIP: 'None' }))).status).to.equal(201);
    await eventually('b has it', async () => (await call(b, 'GET', '/labels')).status === 200);
    const patches = (r: ServeProcess, prefix: string) =>
      Promise.all(Array.from({ length: 15 }, (_, i) => call(r, 'PATCH', '/labels', { metadata: { labels: { [`${prefix}${i}`]: 'x' } } }, 'application/merge-patch+json')));
    const results = (await Promise.all([patches(a, 'a'), patches(b, 'b')])).flat();
    expect(results.map((r) => r.status).filter((s) => s !== 200)).to.deep.equal([]);
    const want = [...Array.from({ length: 15 }, (_, i) => `a${i}`), ...Array.from({ length: 15 }, (_, i) => `b${i}`)].sort();
    const stored = JSON.parse((await client.get('/svcdns/registry/cluster.local/services/default/labels').string()) ?? '{}') as Obj;
    expect(Object.keys(stored.metadata.labels as object).sort()).to.deep.equal(want);
  });

  it('28 NodePort Services created at once through both replicas, in a range of 29 addresses and 32 ports: all distinct', async () => {
    const creates = replicas.flatMap((r, i) => Array.from({ length: 14 }, (_, j) => call(r, 'POST', '', svc(`np-${i}-${j}`, { type: 'NodePort' }))));
    const results = await Promise.all(creates);
    expect(results.map((r) => (r.status === 201 ? 201 : `${r.status} ${String(r.body.message)}`))).to.deep.equal(Array(28).fill(201));
    const all = Object.values(await client.getAll().prefix('/svcdns/registry/cluster.local/services/default/np-').strings()).map((v) => JSON.parse(v) as Obj);
    expect(all.length).to.equal(28);
    const ips = all.map((s) => String(s.spec!.clusterIP));
    const ports = all.map((s) => (s.spec!.ports as Array<{ nodePort: number }>)[0]!.nodePort);
    expect(new Set(ips).size, `IPs: ${ips.sort().join(' ')}`).to.equal(28);
    expect(new Set(ports).size, `ports: ${ports.sort().join(' ')}`).to.equal(28);
    expect(ips).to.not.include('10.96.0.10'); // the zone's DNS service address
    // Every one is reserved, by its owner.
    const reserved = await client.getAll().prefix('/svcdns/allocations/cluster.local/').strings();
    for (const s of all) {
      expect(reserved[`/svcdns/allocations/cluster.local/clusterip/${String(s.spec!.clusterIP)}`]).to.equal(`default/${String(s.metadata.name)}`);
    }
    // Both replicas answer for all of them.
    for (const r of replicas) await eventually('every Service', async () => ((await call(r, 'GET', '')).body.items as unknown[]).filter((s) => String((s as Obj).metadata.name).startsWith('np-')).length === 28);
  });

  it('a requested cluster IP that the other replica has just taken: 422 in the allocator words', async () => {
    const [a, b] = replicas as [ServeProcess, ServeProcess];
    // Free the address of a Service made by the test before, then ask for it through both.
    const ip = String((await call(a, 'GET', '/np-0-0')).body.spec!.clusterIP);
    expect((await call(a, 'DELETE', '/np-0-0')).status).to.equal(200);
    await eventually('freed everywhere', async () => (await call(b, 'GET', '/np-0-0')).status === 404);
    const [ra, rb] = await Promise.all([call(a, 'POST', '', svc('want-a', { clusterIP: ip })), call(b, 'POST', '', svc('want-b', { clusterIP: ip }))]);
    expect([ra.status, rb.status].sort()).to.deep.equal([201, 422]);
    const loser = ra.status === 422 ? ra : rb;
    expect(String(loser.body.message)).to.match(new RegExp(`failed to allocate IP ${ip.replace(/\./g, '\\.')}: provided IP is already allocated`));
  });
});
