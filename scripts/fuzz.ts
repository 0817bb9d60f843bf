/**
 * Fuzzes a real `svcdns serve` with malformed, truncated, mutated and random DNS messages over
 * UDP and TCP, and checks after every batch that a well-formed query still gets the right answer.
 *   npm run fuzz                                  # 1,000,000 messages (3/4 UDP, 1/4 TCP)
 *   npx tsx scripts/fuzz.ts --messages 20000 --seed 7 [--zones DIR] [--json]
 * Deterministic for a seed: a failure names its seed and batch. Exit 1 on a crash, a wrong or
 * missing answer to a good query, an error logged by the server, or heap in use after a full GC
 * growing past --max-heap-growth MiB (a leak). Reports: messages sent and seen by the server,
 * replies by rcode, RSS and heap-after-GC before/after, the rate.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '1000000' },
    'tcp-share': { type: 'string', default: '0.25' },
    batch: { type: 'string', default: '10000' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    zones: { type: 'string', default: fileURLToPath(new URL('../zones', import.meta.url)) },
    'max-heap-growth': { type: 'string', default: '8' },
    json: { type: 'boolean', default: false },
  },
});
const TOTAL = Number(values.messages);
const TCP_SHARE = Number(values['tcp-share']);
const BATCH = Number(values.batch);
const SEED = Number(values.seed);
const BIN = fileURLToPath(new URL('../bin/svcdns.js', import.meta.url));
const HEAP_HOOK = fileURLToPath(new URL('./fuzz-heap.cjs', import.meta.url));

interface HeapReport {
  heapUsed: number;
  rss: number;
}
const heapReports: HeapReport[] = [];

/** heapAfterGc asks the server for a full GC and its heap (scripts/fuzz-heap.cjs). */
async function heapAfterGc(child: ChildProcess): Promise<HeapReport> {
  const n = heapReports.length;
  child.kill('SIGUSR2');
  for (let i = 0; i < 100 && heapReports.length === n; i++) await new Promise((r) => setTimeout(r, 20));
  const r = heapReports[n];
  if (!r) throw new Error('the server did not report its heap');
  return r;
}

// ---- deterministic randomness (mulberry32) ----
let state = SEED >>> 0 || 1;
function rand(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const bytes = (n: number) => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = int(256);
  return b;
};

// ---- a small query encoder, independent of the server's code ----
function encodeName(name: string): Buffer {
  const parts = name.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([Buffer.byteLength(l)]), Buffer.from(l)]));
  return Buffer.concat([...parts, Buffer.from([0])]);
}
function opt(size: number, { version = 0, dnssec = false, options = Buffer.alloc(0) } = {}): Buffer {
  const b = Buffer.alloc(11);
  b.writeUInt16BE(41, 1);
  b.writeUInt16BE(size, 3);
  b[6] = version;
  b[7] = dnssec ? 0x80 : 0;
  b.writeUInt16BE(options.length, 9);
  return Buffer.concat([b, options]);
}
function message(name: string | Buffer, qtype: number, { id = int(65536), flags = 0x0100, qclass = 1, additional = [] as Buffer[], counts }: { id?: number; flags?: number; qclass?: number; additional?: Buffer[]; counts?: [number, number, number, number] } = {}): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(flags, 2);
  const [qd, an, ns, ar] = counts ?? [1, 0, 0, additional.length];
  h.writeUInt16BE(qd, 4);
  h.writeUInt16BE(an, 6);
  h.writeUInt16BE(ns, 8);
  h.writeUInt16BE(ar, 10);
  const q = Buffer.alloc(4);
  q.writeUInt16BE(qtype, 0);
  q.writeUInt16BE(qclass, 2);
  return Buffer.concat([h, typeof name === 'string' ? encodeName(name) : name, q, ...additional]);
}

const NAMES = [
  'myservice.default.svc.cluster.local',
  '_http._tcp.myservice.default.svc.cluster.local',
  'db.data.svc.cluster.local',
  'db-0.db.data.svc.cluster.local',
  'docs.data.svc.cluster.local',
  'nosuch.default.svc.cluster.local',
  'cluster.local',
  'dns-version.cluster.local',
  '50.0.0.10.in-addr.arpa',
  'example.org',
  'MyService.Default.SVC.Cluster.Local',
  '',
];
const TYPES = [1, 28, 33, 12, 16, 6, 2, 5, 255, 252, 251, 0, 41, 249, 250, 65535, 64, 65, 99];
const COOKIE = Buffer.from('000a00080102030405060708', 'hex');

/** A well-formed query of the corpus: the seeds that mutations start from. */
function validQuery(): Buffer {
  const edns = rand() < 0.6 ? [opt(pick([512, 1232, 4096, 65535, 0]), { dnssec: rand() < 0.3, options: rand() < 0.3 ? COOKIE : Buffer.alloc(0) })] : [];
  return message(pick(NAMES), pick(TYPES), { additional: edns });
}

/** The generators: each returns one bad (or odd) message. */
const GENERATORS: Array<[string, () => Buffer]> = [
  ['random', () => bytes(int(rand() < 0.9 ? 600 : 4096))],
  ['truncated', () => {
    const q = validQuery();
    return q.subarray(0, int(q.length));
  }],
  ['bit flips', () => {
    const q = Buffer.from(validQuery());
    for (let i = 1 + int(8); i > 0; i--) q[int(q.length)]! ^= 1 << int(8);
    return q;
  }],
  ['byte edits', () => {
    let q = Buffer.from(validQuery());
    for (let i = 1 + int(4); i > 0; i--) {
      const at = int(q.length);
      const r = rand();
      if (r < 0.4) q[at] = int(256);
      else if (r < 0.7) q = Buffer.concat([q.subarray(0, at), bytes(1 + int(8)), q.subarray(at)]);
      else q = Buffer.concat([q.subarray(0, at), q.subarray(at + 1 + int(8))]);
    }
    return q;
  }],
  ['header fields', () =>
    message(pick(NAMES), pick(TYPES), {
      flags: int(65536) & ~0x8000, // QR=0: a query, so the server must look at it
      counts: [pick([0, 1, 2, 65535]), pick([0, 1, 65535]), pick([0, 1, 3]), pick([0, 1, 2, 65535])],
      qclass: pick([1, 3, 4, 254, 255, 0, 65535]),
      additional: rand() < 0.5 ? [opt(int(65536))] : [],
    })],
  ['names', () => {
    const r = rand();
    let name: Buffer;
    if (r < 0.2) name = Buffer.concat([Buffer.from([64]), bytes(64), Buffer.from([0])]); // label > 63
    else if (r < 0.4) name = Buffer.concat([...Array.from({ length: 130 }, () => Buffer.from([1, 97])), Buffer.from([0])]); // > 255 octets
    else if (r < 0.6) name = Buffer.from([0xc0, 12]); // pointer to itself
    else if (r < 0.8) name = Buffer.concat([Buffer.from([3]), Buffer.from('a\0.'), Buffer.from([0])]); // NUL and dot inside a label
    else name = Buffer.from([0x40 | int(64), int(256), 0]); // extended label types (RFC 6891 §5)
    return message(name, pick(TYPES));
  }],
  ['records', () => {
    const r = rand();
    const extra: Buffer[] = [];
    if (r < 0.2) extra.push(opt(1232), opt(512)); // two OPTs: FORMERR (RFC 6891 §6.1.1)
    else if (r < 0.4) extra.push(opt(1232, { version: int(256) })); // BADVERS
    else if (r < 0.6) extra.push(Buffer.concat([opt(1232).subarray(0, 9), Buffer.from([0xff, 0xff])])); // RDLEN past the end
    else if (r < 0.8) extra.push(Buffer.concat([Buffer.from([0xc0, 12]), bytes(8), Buffer.from([0, 4]), bytes(4)])); // a record in additional
    else extra.push(opt(1232, { options: Buffer.concat([Buffer.from([0, 8, 0xff, 0xff]), bytes(int(20))]) })); // ECS with a bad length
    const counts: [number, number, number, number] | undefined = rand() < 0.3 ? [1, int(3), int(3), extra.length] : undefined;
    return message(pick(NAMES), pick(TYPES), { additional: extra, ...(counts ? { counts } : {}) });
  }],
  ['response bit', () => {
    const q = Buffer.from(validQuery());
    q[2]! |= 0x80; // QR=1: must never be answered (no reflection)
    return q;
  }],
];

// ---- the server ----
interface Server {
  child: ChildProcess;
  udpPort: number;
  tcpPort: number;
  httpPort: number;
  errors: string[];
  exited: () => number | null;
}

function startServer(): Promise<Server> {
  // --upstream none: fuzzed names outside the zones must never reach the resolvers of
  // /etc/resolv.conf (they are off this machine); they get REFUSED.
  const args = ['--expose-gc', '-r', HEAP_HOOK, BIN, 'serve', '--zones', values.zones, '--dns', '127.0.0.1:0', '--http', '127.0.0.1:0', '--lameduck', '0', '--upstream', 'none'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SVCDNS_UPSTREAM: 'none' } });
  const errors: string[] = [];
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}`)), 20_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        let rec: { level?: number; msg?: string; udp?: string; tcp?: string; http?: string };
        try {
          rec = JSON.parse(line) as typeof rec;
        } catch {
          errors.push(line);
          continue;
        }
        if ((rec.level ?? 0) >= 50) errors.push(line); // error and fatal
        if (rec.msg === 'serving DNS') {
          clearTimeout(timer);
          resolve({ child, udpPort: Number(rec.udp!.split(':').pop()), tcpPort: Number(rec.tcp!.split(':').pop()), httpPort: Number(rec.http!.split(':').pop()), errors, exited: () => child.exitCode ?? (child.signalCode ? -1 : null) });
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        if (line.startsWith('fuzz-heap ')) heapReports.push(JSON.parse(line.slice(10)) as HeapReport);
        else errors.push(line);
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}:\n${out}`)));
  });
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function scrape(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const [series, v] = [line.slice(0, line.lastIndexOf(' ')), Number(line.slice(line.lastIndexOf(' ') + 1))];
    const name = series.replace(/\{.*$/, '');
    sums.set(name, (sums.get(name) ?? 0) + v);
    sums.set(series, v);
  }
  return sums;
}

// ---- the canary: a good query must get the right answer ----
const CANARY = message('myservice.default.svc.cluster.local', 1, { id: 0 });
function checkAnswer(reply: Buffer, id: number): string | null {
  if (reply.length < 12 || reply.readUInt16BE(0) !== id) return 'wrong ID';
  if ((reply[3]! & 0x0f) !== 0) return `rcode ${reply[3]! & 0x0f}`;
  if (reply.readUInt16BE(6) !== 1) return `ANCOUNT ${reply.readUInt16BE(6)}`;
  // The answer's RDATA is the last 4 octets (no OPT in the canary).
  return reply.subarray(reply.length - 4).join('.') === '10.0.0.50' ? null : `address ${reply.subarray(reply.length - 4).join('.')}`;
}

let canaryId = 1;
let canaries = 0;
async function udpCanary(port: number): Promise<string | null> {
  const sock = dgram.createSocket('udp4');
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      const id = (canaryId = (canaryId + 1) & 0xffff);
      const q = Buffer.from(CANARY);
      q.writeUInt16BE(id, 0);
      canaries++;
      const reply = await new Promise<Buffer | null>((resolve) => {
        const t = setTimeout(() => resolve(null), 2000);
        sock.on('message', (m) => {
          if (m.readUInt16BE(0) === id) {
            clearTimeout(t);
            resolve(m);
          }
        });
        sock.send(q, port, '127.0.0.1');
      });
      sock.removeAllListeners('message');
      if (reply) return checkAnswer(reply, id);
    }
    return 'no UDP answer in 5 tries';
  } finally {
    sock.close();
  }
}

function tcpCanary(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const id = (canaryId = (canaryId + 1) & 0xffff);
    const q = Buffer.from(CANARY);
    q.writeUInt16BE(id, 0);
    canaries++;
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => {
      sock.destroy();
      resolve('no TCP answer in 5 s');
    }, 5000);
    sock.on('connect', () => sock.write(Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q])));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(t);
        sock.end();
        resolve(checkAnswer(buf.subarray(2, 2 + buf.readUInt16BE(0)), id));
      }
    });
    sock.on('error', (err) => {
      clearTimeout(t);
      resolve(`TCP error ${err.message}`);
    });
  });
}

// ---- sending ----
const tick = () => new Promise((r) => setImmediate(r));

async function udpBatch(sock: dgram.Socket, port: number, n: number, counts: Map<string, number>): Promise<void> {
  for (let i = 0; i < n; i++) {
    const [name, gen] = pick(GENERATORS);
    const m = gen();
    counts.set(name, (counts.get(name) ?? 0) + 1);
    sock.send(m, port, '127.0.0.1');
    // Let the server keep up: the point is that it reads every message, not that the kernel drops them.
    if (i % 200 === 199) await tick();
  }
}

async function tcpBatch(port: number, n: number, counts: Map<string, number>): Promise<void> {
  const conns = 4;
  const per = Math.ceil(n / conns);
  await Promise.all(
    Array.from({ length: conns }, async (_, c) => {
      const count = Math.min(per, n - c * per);
      if (count <= 0) return;
      const sock = net.connect(port, '127.0.0.1');
      sock.on('data', () => undefined); // read the replies: a client that does not is paused
      sock.on('error', () => undefined);
      await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
      let chunk: Buffer[] = [];
      for (let i = 0; i < count; i++) {
        const [name, gen] = pick(GENERATORS);
        const m = gen().subarray(0, 65535);
        counts.set(name, (counts.get(name) ?? 0) + 1);
        chunk.push(Buffer.from([m.length >> 8, m.length & 0xff]), m);
        if (chunk.length >= 100 || i === count - 1) {
          if (!sock.write(Buffer.concat(chunk))) await new Promise((r) => sock.once('drain', r));
          chunk = [];
          await tick();
        }
      }
      // Half-close and wait for the server's FIN: it comes once every message has been answered.
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 10_000);
        sock.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        sock.end();
      });
      sock.destroy();
    }),
  );
  // A stream that is not DNS at all (random length prefixes): the server must cope and hang up.
  const junk = net.connect(port, '127.0.0.1');
  junk.on('error', () => undefined);
  junk.on('data', () => undefined);
  await new Promise<void>((resolve) => junk.once('connect', () => resolve()));
  junk.write(bytes(2048));
  junk.destroy();
  counts.set('tcp junk stream', (counts.get('tcp junk stream') ?? 0) + 1);
}

// ---- main ----
const started = Date.now();
const server = await startServer();
const pid = server.child.pid!;
// Whatever ends this script (a signal, a timeout of the test that runs it) ends the server too.
process.once('exit', () => server.child.kill('SIGKILL'));
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    server.child.kill('SIGKILL');
    process.exit(130);
  });
}
const problems: string[] = [];
const counts = new Map<string, number>();
let sentUdp = 0;
let sentTcp = 0;
try {
  // Warm up with good queries so that the "before" RSS is a running server's, not a fresh one's.
  const warm = dgram.createSocket('udp4');
  for (let i = 0; i < 2000; i++) {
    warm.send(validQuery(), server.udpPort, '127.0.0.1');
    if (i % 200 === 199) await tick();
  }
  await udpCanary(server.udpPort);
  warm.close();
  const before = await scrape(server.httpPort);
  canaries = 0;
  const heapBefore = await heapAfterGc(server.child);
  const rssBefore = rssMiB(pid);
  let rssMax = rssBefore;
  const udp = dgram.createSocket('udp4');
  udp.on('message', () => undefined);
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  let batchNo = 0;
  while (sentUdp + sentTcp < TOTAL && problems.length === 0) {
    batchNo++;
    const n = Math.min(BATCH, TOTAL - sentUdp - sentTcp);
    const nTcp = Math.round(n * TCP_SHARE);
    await udpBatch(udp, server.udpPort, n - nTcp, counts);
    sentUdp += n - nTcp;
    if (nTcp) await tcpBatch(server.tcpPort, nTcp, counts);
    sentTcp += nTcp;
    if (server.exited() !== null) {
      problems.push(`batch ${batchNo}: the server exited (${server.exited()})`);
      break;
    }
    const u = await udpCanary(server.udpPort);
    const t = await tcpCanary(server.tcpPort);
    if (u) problems.push(`batch ${batchNo}: UDP canary: ${u}`);
    if (t) problems.push(`batch ${batchNo}: TCP canary: ${t}`);
    rssMax = Math.max(rssMax, rssMiB(pid));
    if (!values.json && batchNo % 10 === 0) process.stderr.write(`  ${sentUdp + sentTcp} messages, RSS ${rssMiB(pid).toFixed(1)} MiB\n`);
  }
  udp.close();
  const after = await scrape(server.httpPort);
  const rssAfter = rssMiB(pid);
  const heapAfter = await heapAfterGc(server.child);
  const seen = (m: Map<string, number>) => (m.get('svcdns_dns_requests_total') ?? 0) + (m.get('svcdns_dns_dropped_total') ?? 0);
  const rcodes: Record<string, number> = {};
  for (const [k, v] of after) {
    const m = /^svcdns_dns_responses_total\{.*rcode="([A-Z0-9]+)"\}$/.exec(k);
    if (m) rcodes[m[1]!] = (rcodes[m[1]!] ?? 0) + v - (before.get(k) ?? 0);
  }
  if (server.errors.length) problems.push(`the server logged ${server.errors.length} error(s); first: ${server.errors[0]}`);
  // A leak shows as heap still in use after a full GC; RSS also counts pages V8 keeps for later.
  const heapGrowth = (heapAfter.heapUsed - heapBefore.heapUsed) / 2 ** 20;
  if (heapGrowth > Number(values['max-heap-growth'])) problems.push(`heap after GC grew by ${heapGrowth.toFixed(1)} MiB (limit ${values['max-heap-growth']})`);
  const secs = (Date.now() - started) / 1000;
  const summary = {
    seed: SEED,
    messages: sentUdp + sentTcp,
    udp: sentUdp,
    tcp: sentTcp,
    // Messages the server counted (requests or dropped), less the good queries of the canaries;
    // a few more come from cutting the junk TCP streams into frames.
    seenByServer: seen(after) - seen(before) - canaries,
    replies: rcodes,
    dropped: {
      malformed: (after.get('svcdns_dns_dropped_total{reason="malformed"}') ?? 0) - (before.get('svcdns_dns_dropped_total{reason="malformed"}') ?? 0),
      response: (after.get('svcdns_dns_dropped_total{reason="response"}') ?? 0) - (before.get('svcdns_dns_dropped_total{reason="response"}') ?? 0),
    },
    generators: Object.fromEntries(counts),
    crashes: server.exited() === null ? 0 : 1,
    serverErrors: server.errors.length,
    rssMiB: { before: round(rssBefore), after: round(rssAfter), max: round(rssMax) },
    heapAfterGcMiB: { before: round(heapBefore.heapUsed / 2 ** 20, 100), after: round(heapAfter.heapUsed / 2 ** 20, 100) },
    seconds: round(secs),
    messagesPerSecond: Math.round((sentUdp + sentTcp) / secs),
    machine: `${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    problems,
  };
  if (values.json) console.log(JSON.stringify(summary));
  else {
    console.log(`fuzz: seed ${SEED}, ${summary.messages} messages (UDP ${sentUdp}, TCP ${sentTcp}) in ${summary.seconds} s (${summary.messagesPerSecond}/s); ${summary.machine}`);
    console.log(`  seen by the server: ${summary.seenByServer}; replies: ${JSON.stringify(rcodes)}; no reply: ${JSON.stringify(summary.dropped)}`);
    console.log(`  by generator: ${JSON.stringify(summary.generators)}`);
    console.log(`  crashes: ${summary.crashes}; errors logged: ${summary.serverErrors}; good queries answered correctly after each of ${batchNo} batches: ${problems.length ? 'NO' : 'yes'}`);
    console.log(`  RSS: ${summary.rssMiB.before} MiB before, ${summary.rssMiB.after} MiB after (max ${summary.rssMiB.max}); heap in use after a full GC: ${summary.heapAfterGcMiB.before} -> ${summary.heapAfterGcMiB.after} MiB`);
    for (const p of problems) console.log(`  PROBLEM: ${p}`);
  }
} finally {
  if (server.exited() === null) {
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
  }
}
process.exitCode = problems.length ? 1 : 0;

function round(n: number, by = 10): number {
  return Math.round(n * by) / by;
}
