import { expect } from 'chai';
import net from 'node:net';
import { createDnsServer, type DnsServer } from '../../src/dns/server.js';
import { decodeMessage } from '../../src/dns/wire.js';
import { silentLogger } from '../../src/log.js';
import { query } from '../helpers/case.js';
import { loadRegistry } from '../helpers/server.js';

// RFC 7766 §6.2.1.1: pipelined queries may be answered as they are read; svcdns joins the answers
// to the queries of one read into one write (one syscall, one segment train), so pipelining
// clients cost a write per read, not per query. These rows count the server's socket writes.

const frame = (m: Buffer) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]);

/** Sends `n` queries in `chunks` client writes (one per event-loop turn) and reads all answers. */
async function pipeline(port: number, n: number, chunks: number): Promise<Buffer[]> {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  sock.setNoDelay(true);
  const answers: Buffer[] = [];
  let buf = Buffer.alloc(0);
  const done = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${answers.length} of ${n} answers`)), 5000);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        answers.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (answers.length === n) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  const msgs = Array.from({ length: n }, (_, i) => {
    const m = query('web.shop.svc.cluster.local', 'A');
    m.writeUInt16BE(i + 1, 0);
    return frame(m);
  });
  const per = Math.ceil(n / chunks);
  for (let c = 0; c < chunks; c++) {
    sock.write(Buffer.concat(msgs.slice(c * per, (c + 1) * per)));
    // Let the server read this chunk on its own before the next one is sent.
    await new Promise((r) => setTimeout(r, 50));
  }
  await done;
  sock.destroy();
  return answers;
}

describe('listeners: TCP pipelined queries get one write per read (RFC 7766 §6.2.1.1)', () => {
  let server: DnsServer | undefined;
  let port = 0;
  const writes = new Map<number, number>();
  const realWrite = net.Socket.prototype.write;
  before(async () => {
    server = createDnsServer({ registry: await loadRegistry(), log: silentLogger() });
    port = (await server.listen('127.0.0.1', 0)).tcp.port;
    // Count the writes of the server's side of each connection (local port = the listener's),
    // keyed by the client's port.
    net.Socket.prototype.write = function (this: net.Socket, ...args: Parameters<net.Socket['write']>) {
      if (this.localPort === port && this.remotePort !== undefined) writes.set(this.remotePort, (writes.get(this.remotePort) ?? 0) + 1);
      return realWrite.apply(this, args);
    } as net.Socket['write'];
  });
  after(async () => {
    net.Socket.prototype.write = realWrite;
    await server?.close();
  });
  beforeEach(() => writes.clear());

  const rows = [
    { n: 1, chunks: 1, maxWrites: 1, desc: 'one query: one write' },
    { n: 20, chunks: 1, maxWrites: 1, desc: '20 queries in one read: one write with 20 answers' },
    { n: 30, chunks: 3, maxWrites: 3, desc: '30 queries in 3 reads: 3 writes' },
    // More than one connection's share of a turn (32): the rest waits a turn, a write per turn.
    { n: 100, chunks: 1, maxWrites: 4, desc: '100 queries in one read: one write per turn of 32 (4)' },
  ];
  for (const r of rows) {
    it(r.desc, async () => {
      const answers = await pipeline(port, r.n, r.chunks);
      expect(answers.map((a) => a.readUInt16BE(0))).to.deep.equal(Array.from({ length: r.n }, (_, i) => i + 1));
      for (const a of answers) expect(decodeMessage(a).answers[0]?.address).to.equal('10.96.1.10');
      const total = [...writes.values()].reduce((s, v) => s + v, 0);
      expect(writes.size, 'one connection').to.equal(1);
      expect(total).to.be.at.least(r.chunks).and.at.most(r.maxWrites);
    });
  }
});
