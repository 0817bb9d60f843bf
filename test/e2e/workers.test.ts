import { expect } from 'chai';
import { Resolver } from 'node:dns/promises';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dig, startServe, type ServeProcess } from '../helpers/tools.js';

const SVC = (ip: string) => `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: ${ip}
  ports: [{name: http, port: 80}]
`;

/** The pids of the workers, from the primary's "worker serving" lines, by worker index. */
function workerPids(s: ServeProcess): Map<number, number> {
  const pids = new Map<number, number>();
  for (const m of s.output().matchAll(/"worker":(\d+),"pid":(\d+),[^\n]*"msg":"worker serving"/g)) pids.set(Number(m[1]), Number(m[2]));
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// serve --workers 2 with real clients (c-ares through Node's Resolver, fetch for HTTP). To know
// which worker answers, the other one is frozen (SIGSTOP): it then reads nothing from the shared
// sockets, so every answer comes from the one left running.
describe('e2e: serve --workers 2 (node:cluster, shared sockets)', function () {
  this.timeout(60_000);
  let root: string;
  let zone: string;
  let server: ServeProcess | undefined;
  let pids: Map<number, number>;
  let resolver: Resolver;
  let asked = 0;
  const ask = async (): Promise<string[]> => {
    asked++;
    return resolver.resolve4('web.shop.svc.cluster.local');
  };
  const write = async (ip: string) => {
    await writeFile(join(zone, '.web.tmp'), SVC(ip));
    await rename(join(zone, '.web.tmp'), join(zone, 'web.yaml'));
  };
  const until = async (ip: string) => {
    const end = Date.now() + 10_000;
    for (;;) {
      const got = await ask();
      if (got.includes(ip)) return;
      if (Date.now() > end) throw new Error(`still ${got.join(',')}, not ${ip}`);
      await sleep(50);
    }
  };
  const only = (index: number) => {
    for (const [i, pid] of pids) process.kill(pid, i === index ? 'SIGCONT' : 'SIGSTOP');
  };

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'svcdns-workers-'));
    zone = join(root, 'cluster.local');
    await mkdir(zone);
    await write('10.96.0.10');
    server = await startServe(['--zones', root, '--dns', '127.0.0.1:0', '--upstream', 'none', '--workers', '2']);
    const end = Date.now() + 20_000;
    while ((pids = workerPids(server)).size < 2) {
      if (Date.now() > end) throw new Error(`the workers did not both start:\n${server.output()}`);
      await sleep(50);
    }
    resolver = new Resolver({ timeout: 1000, tries: 3 });
    resolver.setServers([`127.0.0.1:${server.port}`]);
  });
  after(async () => {
    for (const pid of pids?.values() ?? []) if (alive(pid)) process.kill(pid, 'SIGCONT');
    await server?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('two worker processes, children of the one started, each with its own pid', () => {
    expect([...pids.keys()].sort()).to.deep.equal([0, 1]);
    expect(new Set(pids.values()).size).to.equal(2);
    expect([...pids.values()]).to.not.include(server!.child.pid);
  });

  it('each worker answers on the shared port alone (the other frozen), over UDP (c-ares) and TCP (dig +tcp)', async () => {
    for (const index of [0, 1]) {
      only(index);
      expect(await ask()).to.deep.equal(['10.96.0.10']);
      expect((await dig(server!.tcpPort, ['+tcp', '+short', 'web.shop.svc.cluster.local', 'A'])).trim()).to.equal('10.96.0.10');
    }
    for (const pid of pids.values()) process.kill(pid, 'SIGCONT');
  });

  it('a zone file change shows in both workers', async () => {
    await write('10.96.0.20');
    only(0);
    await until('10.96.0.20');
    only(1);
    await until('10.96.0.20');
    for (const pid of pids.values()) process.kill(pid, 'SIGCONT');
    // Both running again: several answers in a row, all new.
    for (let i = 0; i < 10; i++) expect(await ask()).to.deep.equal(['10.96.0.20']);
  });

  it('/metrics (served by worker 0) counts the queries of both workers; /ready is OK', async () => {
    const base = `http://127.0.0.1:${server!.httpPort}`;
    const text = await (await fetch(`${base}/metrics`)).text();
    let total = 0;
    for (const m of text.matchAll(/^svcdns_dns_requests_total\{[^}]*proto="udp"[^}]*\} (\d+)/gm)) total += Number(m[1]);
    // c-ares may retry a query (a frozen worker's socket share); never fewer than asked.
    expect(total).to.be.at.least(asked);
    expect(total).to.be.at.most(asked * 3);
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).to.equal(200);
  });

  it('SIGTERM stops the primary and both workers, exit code 0', async () => {
    const code = await server!.stop();
    expect(code).to.equal(0);
    const end = Date.now() + 5000;
    while ([...pids.values()].some(alive) && Date.now() < end) await sleep(50);
    expect([...pids.values()].filter(alive)).to.deep.equal([]);
    server = undefined;
  });
});

describe('e2e: serve --workers 2 that cannot start', function () {
  this.timeout(30_000);
  it('a registry that does not validate: the workers fail to start, the whole server exits 2', async () => {
    const root = await mkdtemp(join(tmpdir(), 'svcdns-workers-bad-'));
    try {
      await mkdir(join(root, 'cluster.local'));
      await writeFile(join(root, 'cluster.local', 'bad.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: Bad_Name, namespace: shop}\nspec: {ports: [{port: 99999}]}\n');
      const err = await startServe(['--zones', root, '--dns', '127.0.0.1:0', '--upstream', 'none', '--workers', '2']).then(
        () => null,
        (e: unknown) => e as { code?: number; output?: string },
      );
      expect(err, 'serve started on a broken registry').to.not.equal(null);
      expect(err!.code, err!.output).to.equal(2);
      expect(err!.output).to.match(/a worker failed to start/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
