import net, { type AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import type { HandleResult } from './server.js';
import type { Transport } from './message.js';

/** TcpOptions bound what one client can hold (RFC 7766 §6.2.3, §10). */
export interface TcpOptions {
  /** Connections kept at once; more are closed as they arrive. */
  maxConnections: number;
  /** Close a connection idle this long (ms). */
  idleTimeoutMs: number;
  /** Close a connection whose message is still incomplete after this long (ms): slow senders. */
  frameTimeoutMs: number;
}

const DEFAULTS: TcpOptions = { maxConnections: 1000, idleTimeoutMs: 10_000, frameTimeoutMs: 5_000 };

/** TcpListenOptions configure listenTcp. */
export interface TcpListenOptions extends Partial<TcpOptions> {
  host: string;
  port: number;
  handle: (message: Buffer, transport: Transport, client: string) => HandleResult | Promise<HandleResult>;
  log: Logger;
}

/**
 * listenTcp serves DNS over TCP with 2-octet length framing (RFC 1035 §4.2.2): prefixes split
 * across segments, pipelined queries (RFC 7766 §6.2.1.1) answered with one write per read.
 */
export async function listenTcp(opts: TcpListenOptions): Promise<{ address: AddressInfo; close: () => Promise<void> }> {
  const { host, port, handle, log } = opts;
  const o = { ...DEFAULTS, ...definedOnly(opts) };
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serveConnection(socket, handle, o);
  });
  server.maxConnections = o.maxConnections;
  server.on('error', (err) => log.warn({ err }, 'TCP server error'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    address: server.address() as AddressInfo,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

function serveConnection(socket: net.Socket, handle: TcpListenOptions['handle'], o: TcpOptions): void {
  const client = socket.remoteAddress ?? '';
  let pending: Buffer | null = null;
  let pendingSince = 0;
  socket.setTimeout(o.idleTimeoutMs, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    const out: Buffer[] = [];
    let off = 0;
    while (buf.length - off >= 2) {
      const len = buf.readUInt16BE(off);
      if (buf.length - off - 2 < len) break;
      const message = buf.subarray(off + 2, off + 2 + len);
      off += 2 + len;
      const r = handle(message, 'tcp', client);
      if (r instanceof Promise) r.then((b) => b && !socket.destroyed && socket.write(frame([b]))).catch(() => undefined);
      else if (r) out.push(r);
    }
    if (off < buf.length) {
      if (!pending) pendingSince = Date.now();
      // Copy the tail so a large read is not kept alive by a few leftover bytes.
      pending = Buffer.from(buf.subarray(off));
      if (Date.now() - pendingSince > o.frameTimeoutMs) return void socket.destroy();
    } else {
      pending = null;
    }
    if (out.length) socket.write(frame(out));
  });
}

// Prefixes each message with its length and joins them, so one read gets one write.
function frame(messages: Buffer[]): Buffer {
  let size = 0;
  for (const m of messages) size += 2 + m.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const m of messages) {
    out.writeUInt16BE(m.length, at);
    m.copy(out, at + 2);
    at += 2 + m.length;
  }
  return out;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
