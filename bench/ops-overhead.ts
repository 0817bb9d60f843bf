/**
 * Per-query cost of the operations features on the hot path: `handle(buffer)` without metrics
 * (as before they existed), with metrics (the `serve` default) and with the query log on. A
 * script, not a test: timings depend on the machine, so it prints them and asserts nothing.
 *   npx tsx bench/ops-overhead.ts [--services 1000] [--runs 5] [--queries 2000000]
 * Each variant runs in its own process (no shared JIT state), the processes alternate so that a
 * change in machine load hits every variant alike; CPU time per query is measured (not wall
 * time), and the median and minimum of the runs are reported.
 * Query mix as in the performance notes: 80% A hits, 10% SRV hits, 10% NXDOMAIN, with EDNS.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createDnsServer, type DnsServerOptions } from '../src/dns/server.js';
import { silentLogger } from '../src/log.js';
import { loadZonesDir } from '../src/registry/load.js';
import { Registry } from '../src/registry/registry.js';
import { buildSnapshot } from '../src/registry/snapshot.js';
import { query } from '../test/helpers/case.js';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '5' },
    queries: { type: 'string', default: '2000000' },
    variant: { type: 'string' },
    zones: { type: 'string' },
  },
});
const self = fileURLToPath(import.meta.url);

/** The variants: what `serve` passes to createDnsServer in each configuration. */
// The ops modules are imported when a variant needs them, so that this script also runs in a
// checkout from before they existed (copy it into that tree's bench/): the other variants then
// report n/a, and "no metrics" is the true before.
const ops = async () => {
  const [{ DnsStats }, { queryObserver }] = await Promise.all([import('../src/ops/dns-stats.js'), import('../src/ops/observe.js')]);
  return { DnsStats, queryObserver };
};
const VARIANTS: Array<{ name: string; options: (registry: Registry) => Promise<Partial<DnsServerOptions>> }> = [
  { name: 'no metrics (handle as before this issue)', options: async () => ({}) },
  {
    name: 'metrics on, query log off (serve default)',
    options: async (registry) => {
      const { DnsStats, queryObserver } = await ops();
      return { observe: queryObserver({ stats: new DnsStats(registry) }) };
    },
  },
  {
    name: 'metrics on, query log on (to a null sink)',
    options: async (registry) => {
      const { DnsStats, queryObserver } = await ops();
      const sink = new Writable({ write: (_c, _e, cb) => cb() });
      return { observe: queryObserver({ stats: new DnsStats(registry), queryLog: pino({ level: 'info' }, sink).child({ module: 'query' }) }) };
    },
  },
];

if (values.variant === undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'svcdns-bench-'));
  try {
    const gen = fileURLToPath(new URL('../scripts/gen-registry.ts', import.meta.url));
    execFileSync(process.execPath, ['--import', 'tsx', gen, '--services', values.services, '--out', dir], { stdio: 'ignore' });
    const runs = Number(values.runs);
    const results = VARIANTS.map(() => [] as number[]);
    for (let r = 0; r < runs; r++) {
      VARIANTS.forEach((_, i) => {
        try {
          const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--variant', String(i), '--zones', dir, '--queries', values.queries], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
          results[i]!.push(Number(out.trim()));
        } catch {
          // this tree does not have what the variant needs
        }
      });
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    const base = median(results[0]!);
    console.log(`handle(buffer): ${values.services} services, ${values.queries} queries per run, ${runs} runs per variant; CPU ns/query, median [min-max]`);
    console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}, Node ${process.version}`);
    // The counting alone, in a tight loop: steadier than the difference of two handle() runs on
    // a busy machine.
    const alone = execFileSync(process.execPath, ['--import', 'tsx', self, '--variant', 'record'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    VARIANTS.forEach((v, i) => {
      const xs = results[i]!;
      if (!xs.length) return void console.log(`  ${v.name.padEnd(44)}   n/a`);
      const m = median(xs);
      const delta = i === 0 ? '' : `  ${m - base >= 0 ? '+' : ''}${(m - base).toFixed(0)} ns (${(((m - base) / base) * 100).toFixed(1)}%)`;
      console.log(`  ${v.name.padEnd(44)} ${m.toFixed(0).padStart(5)} ns  [${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)}]${delta}`);
    });
    if (alone) console.log(`  the counting alone (DnsStats.now + record, no handle): ${alone}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else if (values.variant === 'record') {
  // DnsStats.record over 1000 parsed queries (90% in the zone, 10% outside, some IPv6 clients).
  try {
    const [{ parseQuery }, { DnsStats }] = await Promise.all([import('../src/dns/message.js'), import('../src/ops/dns-stats.js')]);
    const stats = new DnsStats();
    stats.setZones(['cluster.local']);
    const qs = Array.from({ length: 1000 }, (_, i) => parseQuery(query(i % 10 === 9 ? `x-${i}.example.org` : `svc-${i}.ns-${i % 100}.svc.cluster.local`, i % 10 === 8 ? 'SRV' : 'A', { edns: 1232 }), 'udp', i % 7 ? '192.0.2.1' : '2001:db8::1')!);
    const out = Buffer.alloc(100);
    const n = 10_000_000;
    const once = () => {
      const t = process.cpuUsage();
      for (let i = 0; i < n; i++) stats.record(qs[i % 1000]!, out, stats.now());
      const u = process.cpuUsage(t);
      return ((u.user + u.system) * 1000) / n;
    };
    once();
    console.log(`${Math.min(once(), once(), once()).toFixed(0)} ns/query (min of 3 x 10M)`);
  } catch {
    // a tree without src/ops
  }
} else {
  const variant = VARIANTS[Number(values.variant)]!;
  const loaded = await loadZonesDir(values.zones!);
  const registry = new Registry();
  registry.swap(buildSnapshot(loaded.zones, 1));
  const services = loaded.zones[0]!.content.services.length;
  const queries: Buffer[] = [];
  for (let i = 0; i < 1000; i++) {
    const svc = `svc-${i % services}.ns-${(i % services) % 100}.svc.cluster.local`;
    if (i % 10 === 8) queries.push(query(`_http._tcp.${svc}`, 'SRV', { edns: 1232 }));
    else if (i % 10 === 9) queries.push(query(`nosuch-${i}.ns-1.svc.cluster.local`, 'A', { edns: 1232 }));
    else queries.push(query(svc, 'A', { edns: 1232 }));
  }
  const { handle } = createDnsServer({ registry, log: silentLogger(), ...(await variant.options(registry)) });
  const perRound = Number(values.queries);
  // CPU time of this process, not wall time: on a shared machine, time spent descheduled is not the code's.
  const round = () => {
    let bytes = 0;
    const t0 = process.cpuUsage();
    for (let i = 0; i < perRound; i++) {
      const out = handle(queries[i % queries.length]!, 'udp', '192.0.2.1') as Buffer | null;
      if (out) bytes += out.length;
    }
    if (bytes === 0) throw new Error('no answers');
    const used = process.cpuUsage(t0);
    return ((used.user + used.system) * 1000) / perRound;
  };
  round(); // warm-up: the JIT settles
  const xs = [round(), round(), round()].sort((a, b) => a - b);
  console.log(xs[1]);
}
