/**
 * The floor of any Node.js DNS server on this machine: node:dgram and node:net answering every
 * query with its own bytes and QR set (no lookup, no records), one send per datagram and one write
 * per TCP read. What svcdns costs above this is its own work; what this costs is Node's and the
 * kernel's per-datagram path (one recvmsg and one sendto each: Node 20 has no recvmmsg/sendmmsg).
 *
 *   npx tsx bench/floor.ts PORT
 */
import dgram from 'node:dgram';
import net from 'node:net';

const port = Number(process.argv[2]);
if (!(port > 0 && port < 65536)) {
  console.error('usage: tsx bench/floor.ts PORT');
  process.exit(2);
}

const udp = dgram.createSocket('udp4');
udp.on('message', (m, r) => {
  if (m.length < 12) return;
  const out = Buffer.allocUnsafe(m.length);
  for (let i = 0; i < m.length; i++) out[i] = m[i]!;
  out[2] = m[2]! | 0x80;
  udp.send(out, r.port, r.address);
});
udp.bind(port, '127.0.0.1', () => {
  udp.setRecvBufferSize(4 << 20);
  udp.setSendBufferSize(4 << 20);
});

net
  .createServer({ noDelay: true }, (s) => {
    let buf: Buffer = Buffer.alloc(0);
    s.on('error', () => s.destroy());
    s.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      let off = 0;
      const parts: Buffer[] = [];
      while (buf.length - off >= 2 && buf.length - off - 2 >= buf.readUInt16BE(off)) {
        const len = buf.readUInt16BE(off);
        const out: Buffer = Buffer.from(buf.subarray(off, off + 2 + len));
        out[4] = out[4]! | 0x80;
        parts.push(out);
        off += 2 + len;
      }
      buf = buf.subarray(off);
      if (parts.length) s.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    });
  })
  .listen(port, '127.0.0.1');
