import { expect } from 'chai';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { SERVE_FLAGS, serveConfig, type ServeConfig } from '../../src/cli/serve.js';
import { parseFlags } from '../../src/cli/args.js';
import { rcodeReply, type Handler } from '../../src/dns/handler.js';
import { createDnsServer } from '../../src/dns/server.js';
import { decodeMessage } from '../../src/dns/wire.js';
import { silentLogger } from '../../src/log.js';
import { RCODE } from '../../src/dns/types.js';
import { query } from '../helpers/case.js';
import { loadRegistry, SAMPLE_ZONES } from '../helpers/server.js';
import { BIN, dig, requireTool, startServe } from '../helpers/tools.js';

const config = (argv: string[], env: Record<string, string>) => serveConfig(parseFlags(argv, env, SERVE_FLAGS).values);

describe('serve: the operations flags, from the command line and from SVCDNS_*', () => {
  const rows: Array<{ argv?: string[]; env?: Record<string, string>; pick: (c: ServeConfig) => unknown; want: unknown }> = [
    { pick: (c) => [c.lameduckMs, c.logQueries, c.rateLimit, c.tcp], want: [5000, false, { qps: 0, slip: 2 }, { maxConnections: 1000, idleTimeoutMs: 10_000 }] },
    { env: { SVCDNS_LAMEDUCK: '500ms' }, pick: (c) => c.lameduckMs, want: 500 },
    { env: { SVCDNS_LAMEDUCK: '5s' }, pick: (c) => c.lameduckMs, want: 5000 },
    { env: { SVCDNS_LAMEDUCK: '1m30s' }, pick: (c) => c.lameduckMs, want: 90_000 },
    { env: { SVCDNS_LAMEDUCK: '0' }, pick: (c) => c.lameduckMs, want: 0 },
    { argv: ['--lameduck', '2s'], env: { SVCDNS_LAMEDUCK: '9s' }, pick: (c) => c.lameduckMs, want: 2000 },
    { env: { SVCDNS_LOG_QUERIES: 'true' }, pick: (c) => c.logQueries, want: true },
    { env: { SVCDNS_LOG_QUERIES: '1' }, pick: (c) => c.logQueries, want: true },
    { argv: ['--no-log-queries'], env: { SVCDNS_LOG_QUERIES: 'yes' }, pick: (c) => c.logQueries, want: false },
    { env: { SVCDNS_RATE_LIMIT: '100', SVCDNS_RATE_LIMIT_SLIP: '0' }, pick: (c) => c.rateLimit, want: { qps: 100, slip: 0 } },
    { env: { SVCDNS_TCP_MAX_CONNECTIONS: '50', SVCDNS_TCP_IDLE_TIMEOUT: '2s' }, pick: (c) => c.tcp, want: { maxConnections: 50, idleTimeoutMs: 2000 } },
    { env: { SVCDNS_LAMEDUCK: '5 seconds' }, pick: () => 0, want: /--lameduck 5 seconds: expected a duration such as 5s, 500ms or 1m30s/ },
    { env: { SVCDNS_LAMEDUCK: '11m' }, pick: () => 0, want: /--lameduck 11m: .*at most 600s/ },
    { env: { SVCDNS_RATE_LIMIT: '-1' }, pick: () => 0, want: /--rate-limit -1: expected a whole number from 0/ },
    { env: { SVCDNS_TCP_MAX_CONNECTIONS: '0' }, pick: () => 0, want: /--tcp-max-connections 0: expected a whole number from 1/ },
    { env: { SVCDNS_LOG_QUERIES: 'maybe' }, pick: () => 0, want: /SVCDNS_LOG_QUERIES=maybe: expected true or false/ },
  ];
  for (const r of rows) {
    const name = [...(r.argv ?? []), ...Object.entries(r.env ?? {}).map(([k, v]) => `${k}=${v}`)].join(' ') || 'defaults';
    it(`${name}: ${r.want instanceof RegExp ? 'ERR_CONFIG' : JSON.stringify(r.want)}`, () => {
      if (r.want instanceof RegExp) {
        expect(() => config(r.argv ?? [], r.env ?? {})).to.throw(r.want);
      } else expect(r.pick(config(r.argv ?? [], r.env ?? {}))).to.deep.equal(r.want);
    });
  }

  it('a running serve takes every new setting from SVCDNS_* and logs each query with --log-queries', async () => {
    const s = await startServe(['--zones', SAMPLE_ZONES, '--dns', '127.0.0.1:0'], {
      SVCDNS_LAMEDUCK: '250ms',
      SVCDNS_LOG_QUERIES: 'true',
      SVCDNS_RATE_LIMIT: '1000',
      SVCDNS_RATE_LIMIT_SLIP: '3',
      SVCDNS_TCP_MAX_CONNECTIONS: '77',
      SVCDNS_TCP_IDLE_TIMEOUT: '3s',
    });
    try {
      await dig(s.port, ['+short', 'myservice.default.svc.cluster.local']);
      await sleep(200);
      const lines = s.output().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const start = lines.find((l) => l.msg === 'serving DNS')!;
      expect([start.lameduck_ms, start.log_queries, start.rate_limit, start.tcp_max_connections, start.tcp_idle_timeout_ms]).to.deep.equal([250, true, { qps: 1000, slip: 3 }, 77, 3000]);
      const q = lines.find((l) => l.msg === 'query');
      expect(q).to.include({ name: 'svcdns', module: 'query', client: '127.0.0.1', proto: 'udp', qname: 'myservice.default.svc.cluster.local.', qtype: 'A', rcode: 'NOERROR', rflags: 'qr,aa,rd' });
      expect(q?.level).to.equal(30);
      expect(q?.duration_ms).to.be.a('number').and.above(0);
    } finally {
      expect(await s.stop()).to.equal(0);
    }
  });

  it('without --log-queries, queries log nothing', async () => {
    const s = await startServe(['--zones', SAMPLE_ZONES, '--dns', '127.0.0.1:0', '--log-level', 'trace']);
    try {
      await dig(s.port, ['+short', 'myservice.default.svc.cluster.local']);
      await dig(s.port, ['+short', 'nosuch.default.svc.cluster.local']);
      await sleep(200);
      expect(s.output()).to.not.match(/"module":"query"/);
    } finally {
      expect(await s.stop()).to.equal(0);
    }
  });

  it('on a terminal, logs are human-readable (pino-pretty); piped, they are JSON', async () => {
    // script(1) gives the child a pseudo-terminal as stdout.
    const cmd = `exec ${process.execPath} ${BIN} serve --zones ${SAMPLE_ZONES} --dns 127.0.0.1:0 --http 127.0.0.1:0 --lameduck 0 --upstream none`;
    const child = spawn(requireTool('script'), ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const until = Date.now() + 15_000;
      while (!/serving DNS/.test(out) && Date.now() < until) await sleep(50);
      expect(out).to.match(/INFO.*serving DNS/);
      expect(out).to.not.match(/\{"level":/);
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});

describe('serve: SIGTERM with a lameduck, while queries keep coming', () => {
  it('answers every query until the listeners close, keeps /health up and /ready at 503 for the lameduck, then exits 0', async () => {
    const s = await startServe(['--zones', SAMPLE_ZONES, '--dns', '127.0.0.1:0'], { SVCDNS_LAMEDUCK: '1500ms' });
    const sent = new Map<number, number>(); // id -> time sent
    const answered = new Set<number>();
    const udp = dgram.createSocket('udp4');
    udp.on('message', (m) => {
      if (decodeMessage(m).answers[0]?.address === '10.0.0.50') answered.add(m.readUInt16BE(0));
    });
    udp.on('error', () => undefined);
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    // A TCP client with a long-lived connection, querying throughout.
    const tcp = net.connect(s.tcpPort, '127.0.0.1');
    let tcpAnswers = 0;
    let tcpEnded = false;
    tcp.on('data', (d) => (tcpAnswers += d.length > 2 ? 1 : 0));
    tcp.on('end', () => (tcpEnded = true));
    tcp.on('error', () => undefined);
    await new Promise((r) => tcp.once('connect', r));
    let id = 1;
    let stop = false;
    const traffic = (async () => {
      while (!stop) {
        const q = query('myservice.default.svc.cluster.local', 'A', { id });
        sent.set(id, Date.now());
        udp.send(q, s.port, '127.0.0.1');
        if (!tcpEnded && id % 5 === 0) tcp.write(Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]));
        id++;
        await sleep(10);
      }
    })();
    await sleep(300);
    const health: Array<[number, number, string]> = [];
    const poll = (async () => {
      for (;;) {
        try {
          const [h, r] = await Promise.all([fetch(`http://127.0.0.1:${s.httpPort}/health`), fetch(`http://127.0.0.1:${s.httpPort}/ready`)]);
          health.push([h.status, r.status, await r.text()]);
          await h.text();
        } catch {
          return; // the HTTP listener is closed: the process is exiting
        }
        await sleep(100);
      }
    })();
    const signalled = Date.now();
    s.child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => s.child.once('exit', (c) => r(c)));
    const exitedAfter = Date.now() - signalled;
    stop = true;
    await traffic;
    await poll;
    await sleep(300);
    udp.close();
    tcp.destroy();

    expect(code, s.output()).to.equal(0);
    expect(exitedAfter, 'the lameduck was kept').to.be.at.least(1500);
    const log = s.output().trim().split('\n').map((l) => JSON.parse(l) as { msg: string; time: string });
    const closing = Date.parse(log.find((l) => l.msg === 'closing listeners; answering the queries in flight')!.time);
    // Every query sent before the listeners began to close was answered, lameduck included.
    const due = [...sent].filter(([, t]) => t < closing - 20).map(([i]) => i);
    const duringLameduck = due.filter((i) => sent.get(i)! >= signalled);
    expect(duringLameduck.length, 'queries sent during the lameduck').to.be.above(50);
    expect(due.filter((i) => !answered.has(i)), 'unanswered').to.deep.equal([]);
    expect(tcpAnswers, 'TCP answers').to.be.above(10);
    expect(tcpEnded, 'the TCP connection ended with FIN').to.equal(true);
    expect(health.some(([h, r, text]) => h === 200 && r === 503 && text === 'shutdown: shutting down\n'), JSON.stringify(health)).to.equal(true);
    expect(health.every(([h]) => h === 200)).to.equal(true);
  });

  it('a second signal cuts the lameduck short', async () => {
    const s = await startServe(['--zones', SAMPLE_ZONES, '--dns', '127.0.0.1:0'], { SVCDNS_LAMEDUCK: '60s' });
    s.child.kill('SIGTERM');
    await sleep(300);
    s.child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => s.child.once('exit', (c) => r(c)));
    expect(code).to.equal(0);
  });

  it('close() answers the queries in flight (a slow handler) over UDP and TCP, and takes no new ones', async () => {
    const slow: Handler = () => new Promise((resolve) => setTimeout(() => resolve(rcodeReply(RCODE.NXDOMAIN)), 400));
    const server = createDnsServer({ registry: await loadRegistry(), log: silentLogger(), handlers: [slow] });
    const { udp: addr, tcp: tcpAddr } = await server.listen('127.0.0.1', 0);
    const u = dgram.createSocket('udp4');
    const replies: number[] = [];
    u.on('message', (m) => replies.push(m.readUInt16BE(0)));
    await new Promise<void>((r) => u.bind(0, '127.0.0.1', r));
    const t = net.connect(tcpAddr.port, '127.0.0.1');
    t.on('error', () => undefined);
    let tcpReply: Buffer | null = null;
    let tcpEnded = false;
    t.on('data', (d) => (tcpReply = d));
    t.on('end', () => (tcpEnded = true));
    let closing: Promise<void> | undefined;
    try {
      await new Promise((r) => t.once('connect', r));
      u.send(query('a.example.org', 'A', { id: 1 }), addr.port, '127.0.0.1');
      const q = query('b.example.org', 'A', { id: 2 });
      t.write(Buffer.concat([Buffer.from([0, q.length]), q]));
      await sleep(100);
      closing = server.close();
      await sleep(50);
      u.send(query('c.example.org', 'A', { id: 3 }), addr.port, '127.0.0.1'); // after close began: not taken
      await closing;
      await sleep(100);
    } finally {
      u.close();
      t.destroy();
      await (closing ?? server.close());
    }
    expect(replies).to.deep.equal([1]);
    expect(tcpReply && decodeMessage((tcpReply as Buffer).subarray(2)).header.id).to.equal(2);
    expect(tcpEnded).to.equal(true);
  });
});
