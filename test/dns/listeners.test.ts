import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Handler } from '../../src/dns/handler.js';
import { clusterHandler } from '../../src/dns/handlers/cluster/index.js';
import { RATE, RateLimiter, slipReply } from '../../src/dns/ratelimit.js';
import { createDnsServer, type DnsServer, type DnsServerOptions } from '../../src/dns/server.js';
import { decodeMessage } from '../../src/dns/wire.js';
import { silentLogger } from '../../src/log.js';
import { DnsStats, TCP_CLOSE } from '../../src/ops/dns-stats.js';
import { query } from '../helpers/case.js';
import { loadRegistry, SAMPLE_ZONES } from '../helpers/server.js';
import { requireTool, startServe } from '../helpers/tools.js';

const run = promisify(execFile);
const frame = (m: Buffer) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]);
const GOOD = () => query('web.shop.svc.cluster.local', 'A');

/** A real server on 127.0.0.1:0 with these listener options, and its counters. */
async function serverWith(options: Partial<DnsServerOptions>): Promise<{ server: DnsServer; port: number; tcpPort: number; stats: DnsStats }> {
  const stats = new DnsStats();
  const server = createDnsServer({ registry: options.registry ?? (await loadRegistry()), log: silentLogger(), listenerStats: stats, ...options });
  const { udp, tcp } = await server.listen('127.0.0.1', 0);
  return { server, port: udp.port, tcpPort: tcp.port, stats };
}

describe('listeners: one port for UDP and TCP', () => {
  it('port 0 gives the same free port to both, every time', async () => {
    const servers: DnsServer[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const server = createDnsServer({ registry: await loadRegistry(), log: silentLogger() });
        servers.push(server);
        const { udp, tcp } = await server.listen('127.0.0.1', 0);
        expect(tcp.port, `attempt ${i}`).to.equal(udp.port);
      }
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  it('a fixed port taken for TCP: listen fails with EADDRINUSE and leaves no UDP socket behind', async () => {
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const server = createDnsServer({ registry: await loadRegistry(), log: silentLogger() });
      const err = await server.listen('127.0.0.1', port).then(() => null, (e: NodeJS.ErrnoException) => e);
      expect(err?.code).to.equal('EADDRINUSE');
      // The UDP port it opened first was closed again: it can be bound now.
      const probe = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        probe.once('error', reject);
        probe.bind(port, '127.0.0.1', resolve);
      });
      probe.close();
      await server.close();
    } finally {
      holder.close();
    }
  });
});

function connect(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves when the peer has closed the socket (ms after the call), rejects after `within` ms. */
function closed(sock: net.Socket, within: number): Promise<number> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    if (sock.destroyed || sock.readableEnded) return resolve(0);
    const t = setTimeout(() => reject(new Error(`still open after ${within} ms`)), within);
    sock.on('error', () => undefined);
    sock.once('close', () => {
      clearTimeout(t);
      resolve(Date.now() - t0);
    });
    sock.resume();
  });
}

/** Sends one query over TCP on an open socket and resolves with the reply. */
function tcpAsk(sock: net.Socket, msg: Buffer, within = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => reject(new Error('no TCP answer')), within);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(t);
        sock.off('data', onData);
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      }
    };
    sock.on('data', onData);
    sock.write(frame(msg));
  });
}

/** Sends one query over UDP from `sock` and resolves with the reply, or null after `within` ms. */
function udpAsk(sock: dgram.Socket, port: number, msg: Buffer, within = 2000): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const id = msg.readUInt16BE(0);
    const t = setTimeout(() => {
      sock.off('message', on);
      resolve(null);
    }, within);
    const on = (m: Buffer) => {
      if (m.readUInt16BE(0) !== id) return;
      clearTimeout(t);
      sock.off('message', on);
      resolve(m);
    };
    sock.on('message', on);
    sock.send(msg, port, '127.0.0.1');
  });
}

/** Waits until `cond` holds, polling; fails after `within` ms. */
async function until(cond: () => boolean, within: number, what: string): Promise<void> {
  const end = Date.now() + within;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function udpSocket(address = '127.0.0.1'): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, address, r));
  return s;
}

describe('listeners: TCP limits (RFC 7766 §6.2.3, §10)', () => {
  const opened: net.Socket[] = [];
  let current: { server: DnsServer } | undefined;
  afterEach(async () => {
    for (const s of opened.splice(0)) s.destroy();
    await current?.server.close();
    current = undefined;
  });
  const open = async (port: number) => {
    const s = await connect(port);
    opened.push(s);
    return s;
  };

  it('connection cap: the connection over the cap is closed, the others keep working, a freed slot is reused', async () => {
    const { server, tcpPort: port, stats } = (current = await serverWith({ tcp: { maxConnections: 5 } }));
    const five = await Promise.all(Array.from({ length: 5 }, () => open(port)));
    for (const s of five) expect(decodeMessage(await tcpAsk(s, GOOD())).answers[0]?.address).to.equal('10.96.1.10');
    const sixth = await open(port);
    sixth.write(frame(GOOD()));
    await closed(sixth, 3000);
    expect(stats.tcpClosed[TCP_CLOSE.limit]).to.equal(1);
    expect(decodeMessage(await tcpAsk(five[0]!, GOOD())).header.rcode).to.equal(0);
    five[1]!.destroy();
    await sleep(100);
    const again = await open(port);
    expect(decodeMessage(await tcpAsk(again, GOOD())).answers[0]?.address).to.equal('10.96.1.10');
    void server;
  });

  it('idle timeout: a connection that sends nothing is closed', async () => {
    const { tcpPort: port, stats } = (current = await serverWith({ tcp: { idleTimeoutMs: 300 } }));
    const s = await open(port);
    await closed(s, 5000);
    expect(stats.tcpClosed[TCP_CLOSE.idle]).to.equal(1);
  });

  it('slow sender: one byte a second cannot hold a slot (the message deadline closes it)', async () => {
    // The idle timeout alone would never fire: every byte is activity.
    const { tcpPort: port, stats } = (current = await serverWith({ tcp: { idleTimeoutMs: 3000, frameTimeoutMs: 1500 } }));
    const s = await open(port);
    const msg = frame(GOOD());
    let sent = 0;
    const timer = setInterval(() => {
      if (!s.destroyed && sent < msg.length) s.write(msg.subarray(sent, ++sent));
    }, 1000);
    try {
      await closed(s, 15_000);
    } finally {
      clearInterval(timer);
    }
    expect(sent).to.be.below(msg.length);
    expect(stats.tcpClosed[TCP_CLOSE.slow]).to.equal(1);
  });

  it('a busy pipelining client whose reads always end mid-message is not taken for a slow sender', async () => {
    const { tcpPort: port, stats } = (current = await serverWith({ tcp: { idleTimeoutMs: 3000, frameTimeoutMs: 300 } }));
    const s = await open(port);
    const want = 300;
    let got = 0;
    let buf = Buffer.alloc(0);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        got++;
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
    });
    // 1.5 s of writes, each ending three bytes into a message: after every read a partial
    // message is pending, yet every read also completes some.
    const stream = Buffer.concat(Array.from({ length: want }, () => frame(GOOD())));
    const per = stream.length / want;
    for (let from = 0, k = 1; from < stream.length; k++) {
      const to = Math.min(k * 20 * per + 3, stream.length);
      s.write(stream.subarray(from, to));
      from = to;
      await sleep(100);
    }
    const until = Date.now() + 3000;
    while (got < want && Date.now() < until) await sleep(20);
    expect(got).to.equal(want);
    expect(s.destroyed).to.equal(false);
    expect(stats.tcpClosed[TCP_CLOSE.slow]).to.equal(0);
  });

  it('slow reader: a client that sends queries but never reads its answers is paused, then closed', async () => {
    const { tcpPort: port, stats } = (current = await serverWith({ tcp: { idleTimeoutMs: 1000, maxWriteBuffer: 16 << 10 } }));
    const s = await open(port);
    s.pause(); // never read
    s.on('error', () => undefined);
    const batch = Buffer.concat(Array.from({ length: 1000 }, () => frame(GOOD())));
    await until(() => stats.tcpOpen === 1, 3000, 'the connection');
    for (let i = 0; i < 200 && stats.tcpOpen === 1; i++) {
      if (!s.write(batch)) await Promise.race([new Promise((r) => s.once('drain', r)), sleep(200)]);
    }
    await until(() => stats.tcpOpen === 0, 20_000, 'the server to close the connection');
    expect(stats.tcpClosed[TCP_CLOSE.backpressure]).to.equal(1);
  });

  it('300 idle TCP connections do not stop UDP answers (all 300 queries answered)', async () => {
    const { port, tcpPort, stats } = (current = await serverWith({ tcp: { maxConnections: 1000, idleTimeoutMs: 30_000 } }));
    await Promise.all(Array.from({ length: 300 }, () => open(tcpPort)));
    await until(() => stats.tcpOpen === 300, 5000, '300 connections accepted');
    const u = await udpSocket();
    try {
      let answered = 0;
      for (let i = 0; i < 300; i++) if (await udpAsk(u, port, query('web.shop.svc.cluster.local', 'A', { id: i + 1 }))) answered++;
      expect(answered).to.equal(300);
    } finally {
      u.close();
    }
  });
});

describe('listeners: TCP pipelining floods do not starve UDP (a budget of TCP work per event-loop turn)', () => {
  it('8 connections pipelining flat out (another process): a bounded number of TCP queries per turn, UDP queries meanwhile all answered, TCP too', async () => {
    // Counts the queries answered in each turn of the event loop.
    let inTurn = 0;
    let maxPerTurn = 0;
    let armed = false;
    const counting: Handler = (q, next) => {
      if (!armed) {
        armed = true;
        setImmediate(() => {
          armed = false;
          inTurn = 0;
        });
      }
      maxPerTurn = Math.max(maxPerTurn, ++inTurn);
      return next(q);
    };
    const registry = await loadRegistry();
    const { server, port, tcpPort, stats } = await serverWith({ registry, handlers: [counting, clusterHandler({ registry })] });
    // The flood comes from another process, as it would: in this one it would slow itself down.
    const blaster = `
      const net = require('node:net');
      const [port, hex, ms] = process.argv.slice(1);
      const q = Buffer.from(hex, 'hex');
      const batch = Buffer.concat(Array.from({ length: 500 }, () => Buffer.concat([Buffer.from([0, q.length]), q])));
      const got = [0, 0, 0, 0, 0, 0, 0, 0];
      const socks = got.map((_, i) => {
        const s = net.connect(Number(port), '127.0.0.1');
        s.on('data', (d) => (got[i] += d.length));
        s.on('error', () => {});
        const pump = () => { while (!s.destroyed && s.write(batch)); };
        s.on('drain', pump);
        s.on('connect', pump);
        return s;
      });
      setTimeout(() => { socks.forEach((s) => s.destroy()); console.log(JSON.stringify(got)); }, Number(ms));`;
    const child = spawn(process.execPath, ['-e', blaster, String(tcpPort), GOOD().toString('hex'), '2500'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const u = await udpSocket();
    let answered = 0;
    try {
      await until(() => stats.tcpOpen === 8, 5000, 'the flood');
      for (let i = 0; i < 100; i++) {
        if (!(await udpAsk(u, port, query('web.shop.svc.cluster.local', 'A', { id: i + 1 }), 2000))) break; // starved: stop here
        answered++;
        await sleep(10);
      }
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    } finally {
      u.close();
      child.kill();
      await server.close();
    }
    // TCP's budget is 128 per turn; a loop iteration can hold the end of one budget turn and the
    // start of the next (poll phase, then check phase), plus the UDP datagrams libuv reads per
    // iteration (32 at most). Without the budget this is tens of thousands.
    expect(maxPerTurn, 'queries answered in one loop iteration').to.be.at.most(2 * 128 + 32);
    expect(answered, 'UDP answers within 2 s').to.equal(100);
    const tcpBytes = JSON.parse(out) as number[];
    for (const n of tcpBytes) expect(n, 'every TCP connection got answers').to.be.above(10_000);
  });
});

describe('listeners: UDP', () => {
  it('a datagram from source port 0 is dropped, not answered (dgram.send would throw and end the process)', async () => {
    requireTool('python3');
    const s = await startServe(['--zones', SAMPLE_ZONES, '--dns', '127.0.0.1:0']);
    try {
      // A raw socket (root) is the only way to send from port 0; this is what a spoofer does.
      const q = query('myservice.default.svc.cluster.local', 'A').toString('hex');
      const script = `import socket,struct,sys
p=bytes.fromhex(sys.argv[2]); port=int(sys.argv[1])
u=struct.pack('!HHHH',0,port,8+len(p),0)+p
s=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_UDP); s.sendto(u,('127.0.0.1',0))`;
      await run(requireTool('python3'), ['-c', script, String(s.port), q], { timeout: 10_000 });
      await sleep(300);
      expect(s.child.exitCode, s.output()).to.equal(null);
      const u = await udpSocket();
      const r = await udpAsk(u, s.port, query('myservice.default.svc.cluster.local', 'A'));
      u.close();
      expect(r && decodeMessage(r).answers[0]?.address).to.equal('10.0.0.50');
      const metrics = await (await fetch(`http://127.0.0.1:${s.httpPort}/metrics`)).text();
      expect(metrics).to.match(/svcdns_dns_dropped_total\{reason="malformed"\} 1\n/);
    } finally {
      expect(await s.stop()).to.equal(0);
    }
  });

  describe('rate limit (token bucket per client; over it: drop, every Nth a TC=1 slip)', () => {
    const rows: Array<{ desc: string; qps: number; slip: number; burst?: number; steps: Array<[number, number]>; expect: string }> = [
      // steps: [ms since start, queries at that moment]; expect: one letter per query (p pass, d drop, s slip)
      { desc: 'a burst of one second\'s worth passes, then slip 2 alternates drop and slip', qps: 3, slip: 2, steps: [[0, 7]], expect: 'pppdsds' },
      { desc: 'slip 0 drops every limited query', qps: 2, slip: 0, steps: [[0, 5]], expect: 'ppddd' },
      { desc: 'slip 1 slips every limited query', qps: 2, slip: 1, steps: [[0, 4]], expect: 'ppss' },
      { desc: 'tokens come back at the rate', qps: 10, slip: 0, burst: 1, steps: [[0, 2], [100, 2], [350, 3]], expect: 'pdpdpdd' },
    ];
    for (const r of rows) {
      it(r.desc, () => {
        const rl = new RateLimiter({ qps: r.qps, slip: r.slip, ...(r.burst ? { burst: r.burst } : {}) });
        let got = '';
        for (const [at, n] of r.steps) for (let i = 0; i < n; i++) got += 'pds'[rl.check('192.0.2.1', at)]!;
        expect(got).to.equal(r.expect);
      });
    }

    it('clients are independent, and the table of clients is bounded', () => {
      const rl = new RateLimiter({ qps: 1, maxClients: 100 });
      expect(rl.check('192.0.2.1', 0)).to.equal(RATE.pass);
      expect(rl.check('192.0.2.1', 0)).to.not.equal(RATE.pass);
      expect(rl.check('192.0.2.2', 0)).to.equal(RATE.pass);
      for (let i = 0; i < 1000; i++) rl.check(`198.51.100.${i % 250}.${i}`, 0);
      expect(rl.size).to.equal(100);
    });

    it('the slip reply is the question with TC=1 and no records, no larger than the query', () => {
      const q = query('fleet.monitoring.svc.cluster.local', 'A', { edns: 1232 });
      const r = slipReply(q)!;
      const m = decodeMessage(r);
      expect([m.header.tc, m.header.qr, m.answers.length, m.questions[0]?.name]).to.deep.equal([1, 1, 0, 'fleet.monitoring.svc.cluster.local']);
      expect(r.length).to.be.at.most(q.length);
      expect(slipReply(Buffer.from('0001', 'hex'))).to.equal(null);
    });

    it('over real UDP: one client is limited, another address is not, and every query is accounted for', async () => {
      const { server, port, stats } = await serverWith({ udp: { rateLimit: { qps: 5, slip: 2 } } });
      const flood = await udpSocket('127.0.0.1');
      const other = await udpSocket('127.0.0.2');
      try {
        const replies: Buffer[] = [];
        flood.on('message', (m) => replies.push(m));
        for (let i = 0; i < 40; i++) flood.send(query('web.shop.svc.cluster.local', 'A', { id: 1000 + i }), port, '127.0.0.1');
        await sleep(500);
        const full = replies.filter((m) => !(m[2]! & 0x02)).length;
        const slips = replies.filter((m) => m[2]! & 0x02).length;
        expect(full, 'answered').to.be.within(5, 8);
        expect(slips, 'slipped').to.equal(stats.ratelimitSlips);
        expect(full + slips + stats.dropped[2]!, 'every query accounted for').to.equal(40);
        expect(slips).to.be.within(15, 18);
        for (let i = 0; i < 5; i++) expect(await udpAsk(other, port, query('web.shop.svc.cluster.local', 'A', { id: 2000 + i })), 'another client').to.not.equal(null);
      } finally {
        flood.close();
        other.close();
        await server.close();
      }
    });
  });
});
