import dgram from 'node:dgram';
import { isIPv6, type AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import type { HandleResult } from './server.js';
import type { Transport } from './message.js';

/** UdpListenOptions configure listenUdp. */
export interface UdpListenOptions {
  host: string;
  port: number;
  handle: (message: Buffer, transport: Transport, client: string) => HandleResult | Promise<HandleResult>;
  log: Logger;
}

/** listenUdp binds a UDP socket and answers each datagram with one datagram (or none). */
export async function listenUdp({ host, port, handle, log }: UdpListenOptions): Promise<{ address: AddressInfo; close: () => Promise<void> }> {
  const socket = dgram.createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
  socket.on('message', (msg, rinfo) => {
    const out = handle(msg, 'udp', rinfo.address);
    if (out === null) return;
    if (out instanceof Promise) out.then((b) => b && socket.send(b, rinfo.port, rinfo.address)).catch(() => undefined);
    else socket.send(out, rinfo.port, rinfo.address);
  });
  // A send error (e.g. the client's port is gone) concerns one datagram only.
  socket.on('error', (err) => log.warn({ err }, 'UDP socket error'));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  try {
    socket.setRecvBufferSize(4 << 20);
    socket.setSendBufferSize(4 << 20);
  } catch {
    // Larger buffers are an optimisation; the kernel may cap them.
  }
  return {
    address: socket.address(),
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
