/**
 * TCP abuse against a real `svcdns serve` with its default limits, and what it does to UDP:
 *   npm run bench:flood   [-- --connections 2000 --slow 200 --blasters 8 --seconds 8]
 * Phases: (1) UDP latency at rest; (2) while --connections TCP connections are opened and held
 * idle, --slow of them trickle one byte a second, and --blasters pipeline queries flat out, UDP
 * latency again; (3) what the server kept: connections held at most, closed over the cap,
 * closed idle, closed slow. The UDP probe runs in its own process so that the flood's client
 * work does not show up as server latency. Loopback only; everything is bounded in count and time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '2000' },
    slow: { type: 'string', default: '200' },
    blasters: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '8' },
    probe: { type: 'string' }, // internal: run as the UDP probe against this port
    rate: { type: 'string', default: '2000' },
  },
});

function encodeQuery(id: number): Buffer {
  const name = 'myservice.default.svc.cluster.local'.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(0x0100, 2);
  h.writeUInt16BE(1, 4);
  return Buffer.concat([h, ...name, Buffer.from([0, 0, 1, 0, 1])]);
}

/** The probe: UDP queries at a fixed rate for a while; prints latency percentiles (ms) and losses as JSON. */
async function probe(port: number, seconds: number, rate: number): Promise<void> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const sentAt = new Map<number, bigint>();
  const rtts: number[] = [];
  sock.on('message', (m) => {
    const t = sentAt.get(m.readUInt16BE(0));
    if (t === undefined) return;
    sentAt.delete(m.readUInt16BE(0));
    rtts.push(Number(process.hrtime.bigint() - t) / 1e6);
  });
  const total = Math.round(seconds * rate);
  const start = process.hrtime.bigint();
  for (let i = 0; i < total; i++) {
    const due = start + BigInt(Math.round((i * 1e9) / rate));
    while (process.hrtime.bigint() < due) await new Promise((r) => setImmediate(r));
    const id = i & 0xffff;
    sentAt.set(id, process.hrtime.bigint());
    sock.send(encodeQuery(id), port, '127.0.0.1');
  }
  await sleep(1000);
  sock.close();
  rtts.sort((a, b) => a - b);
  const q = (p: number) => rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))] ?? NaN;
  console.log(JSON.stringify({ sent: total, answered: rtts.length, p50: q(0.5), p99: q(0.99), p999: q(0.999), max: rtts.at(-1) ?? NaN }));
}

function runProbe(port: number, seconds: number): Promise<{ sent: number; answered: number; p50: number; p99: number; p999: number; max: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--probe', String(port), '--seconds', String(seconds), '--rate', values.rate], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim())) : reject(new Error(`probe exited ${code}`))));
  });
}

async function startServer(): Promise<{ child: ChildProcess; port: number; tcp: number; http: number }> {
  const bin = fileURLToPath(new URL('../bin/svcdns.js', import.meta.url));
  const zones = fileURLToPath(new URL('../zones', import.meta.url));
  // taskset keeps the server on one CPU and the clients on the other, when there are two.
  const pin = cpus().length >= 2 ? ['taskset', '-c', '1'] : [];
  const child = spawn(pin[0] ?? process.execPath, [...pin.slice(1), ...(pin.length ? [process.execPath] : []), bin, 'serve', '--zones', zones, '--dns', '127.0.0.1:0', '--http', '127.0.0.1:0', '--lameduck', '0', '--upstream', 'none'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"udp":"[^"]*:(\d+)","tcp":"[^"]*:(\d+)","http":"[^"]*:(\d+)"/.exec(out);
      if (m) resolve({ child, port: Number(m[1]), tcp: Number(m[2]), http: Number(m[3]) });
    });
    child.once('exit', (c) => reject(new Error(`serve exited ${c}: ${out}`)));
  });
}

async function metric(http: number, series: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ').pop()) : NaN;
}

if (values.probe) {
  await probe(Number(values.probe), Number(values.seconds), Number(values.rate));
} else {
  const seconds = Number(values.seconds);
  const server = await startServer();
  process.once('exit', () => server.child.kill('SIGKILL'));
  const sockets: net.Socket[] = [];
  const timers: NodeJS.Timeout[] = [];
  try {
    console.log(`machine: ${cpus().length} x ${cpus()[0]?.model}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}, Node ${process.version}; server pinned to CPU 1 when possible`);
    const rest = await runProbe(server.port, seconds);
    // The flood: idle holders, slow senders, pipelining blasters.
    let refused = 0;
    const open = () =>
      new Promise<net.Socket | null>((resolve) => {
        const s = net.connect(server.tcp, '127.0.0.1');
        s.on('error', () => undefined);
        s.once('connect', () => resolve(s));
        s.once('close', () => resolve(null));
        sockets.push(s);
      });
    const q = encodeQuery(7);
    const framed = Buffer.concat([Buffer.from([0, q.length]), q]);
    // First the clients that work (pipelining flat out), then the ones that only take slots.
    const blasters = await Promise.all(Array.from({ length: Number(values.blasters) }, () => open()));
    const batch = Buffer.concat(Array.from({ length: 200 }, () => framed));
    for (const b of blasters) {
      if (!b) continue;
      b.on('data', () => undefined);
      const pump = () => {
        while (!b.destroyed && b.write(batch));
      };
      b.on('drain', pump);
      pump();
    }
    const wanted = Number(values.connections);
    for (let i = 0; i < wanted; i += 100) {
      const got = await Promise.all(Array.from({ length: Math.min(100, wanted - i) }, open));
      refused += got.filter((s) => s === null).length;
    }
    const slow = sockets.filter((s) => !s.destroyed && !blasters.includes(s)).slice(0, Number(values.slow));
    let trickled = 0;
    timers.push(
      setInterval(() => {
        for (const s of slow) if (!s.destroyed) s.write(framed.subarray(trickled % framed.length, (trickled % framed.length) + 1));
        trickled++;
      }, 1000),
    );
    await sleep(200);
    const heldAtStart = await metric(server.http, 'svcdns_dns_tcp_connections');
    const flooded = await runProbe(server.port, seconds);
    const heldAtEnd = await metric(server.http, 'svcdns_dns_tcp_connections');
    const closedLimit = await metric(server.http, 'svcdns_dns_tcp_closed_total{reason="limit"}');
    const closedSlow = await metric(server.http, 'svcdns_dns_tcp_closed_total{reason="slow"}');
    const closedIdle = await metric(server.http, 'svcdns_dns_tcp_closed_total{reason="idle"}');
    const tcpQueries = await metric(server.http, 'svcdns_dns_requests_total{zone="cluster.local.",proto="tcp",family="1",type="A"}');
    const fmt = (r: typeof rest) => `p50 ${r.p50.toFixed(3)} ms, p99 ${r.p99.toFixed(3)} ms, p99.9 ${r.p999.toFixed(3)} ms, max ${r.max.toFixed(1)} ms, answered ${r.answered}/${r.sent}`;
    console.log(`UDP at ${values.rate} qps, at rest:      ${fmt(rest)}`);
    console.log(`UDP at ${values.rate} qps, TCP flooded:  ${fmt(flooded)}`);
    console.log(`TCP: ${wanted} connections opened (+${values.blasters} blasters); held by the server ${heldAtStart} at the start of the flood, ${heldAtEnd} after ${seconds} s (cap 1000)`);
    console.log(`     closed by the server: ${closedLimit} over the cap, ${closedSlow} slow senders (1 byte/s, deadline 5 s), ${closedIdle} idle (10 s; 1 s once half the slots are taken)`);
    console.log(`     pipelined TCP queries answered during the flood: ${tcpQueries} (${Math.round(tcpQueries / seconds)}/s); ${refused} connects saw an immediate close`);
  } finally {
    for (const t of timers) clearInterval(t);
    for (const s of sockets) s.destroy();
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
  }
}
