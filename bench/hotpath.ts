/**
 * The JavaScript cost of one query without sockets: `handle(buffer)` of the DNS server, with the
 * metrics counters on (as `serve` runs it), over the benchmark's query mix, for a registry of N
 * services. It isolates the hot path from the kernel's per-datagram cost, so its figure moves
 * only with our code (and with registry size, which it must not: issue 6).
 *
 *   npx tsx bench/hotpath.ts --zones DIR --services N [--ms 2000]
 * Prints one JSON line: { services, nsPerQuery, queries, heapDeltaMiB }.
 */
import { parseArgs } from 'node:util';
import { createDnsServer } from '../src/dns/server.js';
import { silentLogger } from '../src/log.js';
import { DnsStats } from '../src/ops/dns-stats.js';
import { queryObserver } from '../src/ops/observe.js';
import { loadZonesDir } from '../src/registry/load.js';
import { Registry } from '../src/registry/registry.js';
import { buildSnapshot } from '../src/registry/snapshot.js';
import { NAMESPACES, serviceName } from './workload.js';

const { values } = parseArgs({ options: { zones: { type: 'string' }, services: { type: 'string' }, ms: { type: 'string', default: '2000' } } });
const services = Number(values.services);
if (!values.zones || !(services > 0)) {
  console.error('usage: tsx bench/hotpath.ts --zones DIR --services N [--ms 2000]');
  process.exit(2);
}

/** query encodes one question (RD set, no EDNS), as dnsperf sends it. */
function query(id: number, name: string, type: number): Buffer {
  const labels = name.split('.').flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]);
  return Buffer.concat([Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, type >> 8, type & 255, 0, 1])]);
}

const loaded = await loadZonesDir(values.zones);
if (loaded.problems.length) throw new Error(`registry has problems: ${JSON.stringify(loaded.problems.slice(0, 3))}`);
const registry = new Registry();
registry.swap(buildSnapshot(loaded.zones, 1));
const stats = new DnsStats(registry);
const dns = createDnsServer({ registry, log: silentLogger(), observe: queryObserver({ stats }), listenerStats: stats });

// The same mix as the dnsperf file: 8 A, 1 SRV, 1 NXDOMAIN in ten, services picked at random.
const msgs: Buffer[] = [];
for (let n = 0; n < 4096; n++) {
  const i = Math.floor(Math.random() * services);
  const r = n % 10;
  if (r < 8) msgs.push(query(n, serviceName(i), 1));
  else if (r === 8) msgs.push(query(n, `_http._tcp.${serviceName(i)}`, 33));
  else msgs.push(query(n, `nope-${i}.ns-${i % NAMESPACES}.svc.cluster.local`, 1));
}
for (const m of msgs) {
  const out = dns.handle(m, 'udp', '127.0.0.1');
  if (!(out instanceof Buffer)) throw new Error('the hot path answered asynchronously or not at all');
}

const run = (ms: number) => {
  let n = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let k = 0; k < msgs.length; k++) dns.handle(msgs[k]!, 'udp', '127.0.0.1');
    n += msgs.length;
  }
  return n;
};
run(500); // warm-up: let V8 optimise the path
const heap0 = process.memoryUsage().heapUsed;
const t0 = process.cpuUsage();
const n = run(Number(values.ms));
const t = process.cpuUsage(t0);
const heap1 = process.memoryUsage().heapUsed;
console.log(JSON.stringify({ services, nsPerQuery: Math.round(((t.user + t.system) * 1000) / n), queries: n, heapDeltaMiB: Math.round((heap1 - heap0) / 2 ** 20) }));
