/**
 * A large registry in etcd: import time, a replica's first list and memory, a relist, and how
 * long a write takes to be answered at that size:
 *   npx tsx bench/etcd-scale.ts [--services 100000]
 * Uses the built CLI (`npm run build` first) and scripts/gen-registry.ts (one Service and one
 * EndpointSlice per service).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { etcdClient, startEtcd } from '../test/helpers/etcd.js';
import { BIN, dig, startServe, type ServeProcess } from '../test/helpers/tools.js';

const run = promisify(execFile);
const { values } = parseArgs({ options: { services: { type: 'string', default: '100000' } } });
const n = Number(values.services);

const rssMb = async (pid: number) => {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) };
};
const logged = async (out: () => string, msg: string, after = 0, ms = 600_000) => {
  const until = Date.now() + ms;
  for (;;) {
    const lines = out().split('\n').slice(after).filter((l) => l.includes(`"msg":"${msg}"`));
    if (lines[0]) return JSON.parse(lines[0]) as Record<string, unknown>;
    if (Date.now() > until) throw new Error(`no "${msg}" log line`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

const dir = await mkdtemp(join(tmpdir(), 'svcdns-scale-'));
const etcd = await startEtcd();
let replica: ServeProcess | undefined;
try {
  await run(process.execPath, ['--import', 'tsx', 'scripts/gen-registry.ts', '--services', String(n), '--format', 'json', '--out', dir], { maxBuffer: 1 << 26 });
  const t = performance.now();
  const imported = await run(process.execPath, [BIN, 'import', '--zones', dir, '--etcd', etcd.url], { maxBuffer: 1 << 26 });
  const importS = (performance.now() - t) / 1000;
  console.log(`import of ${n} services (${2 * n} objects): ${importS.toFixed(1)} s (${Math.round((2 * n) / importS)} objects/s): ${imported.stdout.trim()}`);
  console.log(`etcd after import: ${(await rssMb(etcd.pid()!)).rss} MB RSS`);

  const s = await startServe(['--etcd', etcd.url, '--dns', '127.0.0.1:0']);
  replica = s;
  const loaded = await logged(s.output, 'registry loaded');
  const listed = await logged(s.output, 'listed etcd');
  console.log(`replica: first list ${listed.ms} ms, registry loaded (list + validate + snapshot) ${loaded.ms} ms after start; ${listed.objects} objects`);
  await new Promise((r) => setTimeout(r, 2000));
  global.gc?.();
  console.log(`replica memory after load: ${JSON.stringify(await rssMb(s.child.pid!))} MB`);

  const before = s.output().split('\n').length;
  s.child.kill('SIGHUP');
  const relist = await logged(s.output, 'listed etcd', before - 1);
  console.log(`relist (SIGHUP, nothing changed): ${relist.ms} ms to list, ${JSON.stringify(await rssMb(s.child.pid!))} MB`);

  const c = etcdClient(etcd.url);
  const samples: number[] = [];
  for (let i = 0; i < 10; i++) {
    const ip = `192.0.2.${i + 1}`;
    const t0 = performance.now();
    await c.put('/svcdns/registry/cluster.local/services/ns-0/scale-probe').value(JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'scale-probe', namespace: 'ns-0' }, spec: { clusterIP: 'None' } }));
    await c.put('/svcdns/registry/cluster.local/endpointslices/ns-0/scale-probe').value(JSON.stringify({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'scale-probe', namespace: 'ns-0', labels: { 'kubernetes.io/service-name': 'scale-probe' } }, addressType: 'IPv4', endpoints: [{ addresses: [ip] }] }));
    // A snapshot rebuild at this size blocks the replica for a while: a query may time out.
    while ((await dig(s.port, ['+short', 'scale-probe.ns-0.svc.cluster.local']).catch(() => '')).trim() !== ip) await new Promise((r) => setTimeout(r, 5));
    samples.push(performance.now() - t0);
  }
  c.close();
  samples.sort((a, b) => a - b);
  console.log(`a write answered at this size (2 puts, polled with dig): median ${samples[5]!.toFixed(0)} ms, max ${samples[9]!.toFixed(0)} ms`);
  console.log(`replica memory at the end: ${JSON.stringify(await rssMb(s.child.pid!))} MB; etcd ${(await rssMb(etcd.pid()!)).rss} MB`);
} finally {
  await replica?.stop();
  await etcd.stop();
  await rm(dir, { recursive: true, force: true });
}
