import dgram from 'node:dgram';
import { isIPv6, type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log.js';
import { DROP, type ListenerStats } from '../ops/dns-stats.js';
import { RATE, RateLimiter, slipReply, type RateLimitOptions } from './ratelimit.js';
import type { HandleResult } from './server.js';
import type { Transport } from './message.js';

/** UdpOptions configure what the UDP listener does besides answering. */
export interface UdpOptions {
  /** Per-client response rate limit; off when absent or qps is 0. */
  rateLimit?: RateLimitOptions;
  /** How long close() waits for replies still being computed (forwarded queries), in ms. */
  drainTimeoutMs?: number;
}

/** UdpListenOptions configure listenUdp. */
export interface UdpListenOptions extends UdpOptions {
  host: string;
  port: number;
  handle: (message: Buffer, transport: Transport, client: string) => HandleResult | Promise<HandleResult>;
  log: Logger;
  stats?: ListenerStats;
}

/** Listener is an open socket; close() stops taking queries, sends the replies in flight, then closes. */
export interface Listener {
  address: AddressInfo;
  close(): Promise<void>;
}

/** listenUdp binds a UDP socket and answers each datagram with one datagram (or none). */
export async function listenUdp({ host, port, handle, log, stats, rateLimit, drainTimeoutMs = 5000 }: UdpListenOptions): Promise<Listener> {
  const socket = dgram.createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
  const limiter = rateLimit && rateLimit.qps > 0 ? new RateLimiter(rateLimit) : null;
  let inFlight = 0;
  let draining = false;
  let closed = false;
  let drained: (() => void) | null = null;
  const settled = () => {
    if (--inFlight === 0 && drained) drained();
  };
  // Replies computed later (forwarded queries) are in flight until the kernel has the datagram:
  // close() waits for them, and the send callback is what says a send is done, not cancelled.
  const sendLater = (p: Promise<HandleResult>, port: number, address: string) => {
    inFlight++;
    p.then((b) => (b && !closed ? socket.send(b, port, address, settled) : settled())).catch(() => settled());
  };
  // A send error (e.g. the client's port is gone) concerns one datagram only; under a flood they
  // come by the thousand, so say it once per minute with a count.
  const warn = throttled(log, 60_000);
  socket.on('message', (msg, rinfo) => {
    if (draining) return; // stop taking new work; the replies in flight still go out
    // Source port 0 cannot be answered: dgram's send() throws on it, which would end the process
    // on one spoofed datagram. Such a datagram is never a real query.
    if (rinfo.port === 0) {
      if (stats) stats.dropped[DROP.malformed]!++;
      return;
    }
    try {
      answer(msg, rinfo);
    } catch (err) {
      warn(err, 'failed to answer a UDP datagram');
    }
  });
  function answer(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (limiter) {
      const verdict = limiter.check(rinfo.address, performance.now());
      if (verdict !== RATE.pass) {
        const slip = verdict === RATE.slip ? slipReply(msg) : null;
        if (slip) {
          if (stats) stats.ratelimitSlips++;
          socket.send(slip, rinfo.port, rinfo.address);
        } else if (stats) stats.dropped[DROP.ratelimit]!++;
        return;
      }
    }
    const out = handle(msg, 'udp', rinfo.address);
    if (out === null) return;
    if (out instanceof Promise) sendLater(out, rinfo.port, rinfo.address);
    else socket.send(out, rinfo.port, rinfo.address);
  }
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', (err) => warn(err, 'UDP socket error'));
  try {
    socket.setRecvBufferSize(4 << 20);
    socket.setSendBufferSize(4 << 20);
  } catch {
    // Larger buffers are an optimisation; the kernel may cap them.
  }
  return {
    address: socket.address(),
    async close() {
      draining = true;
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, drainTimeoutMs);
          drained = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      closed = true;
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}

/** throttled logs a warning at most once per period, with how many were left out. */
export function throttled(log: Logger, periodMs: number): (err: unknown, msg: string) => void {
  let last = -Infinity;
  let suppressed = 0;
  return (err, msg) => {
    const now = performance.now();
    if (now - last < periodMs) {
      suppressed++;
      return;
    }
    last = now;
    log.warn({ err, suppressed }, msg);
    suppressed = 0;
  };
}
