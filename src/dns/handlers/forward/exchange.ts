import dgram from 'node:dgram';
import net from 'node:net';
import { checkReply, type CheckedReply, type ReplyProblem } from './message.js';
import type { UpstreamAddress } from './upstream.js';

/** ExchangeOutcome is an upstream's checked reply, or why there is none. */
export type ExchangeOutcome = { ok: true; reply: CheckedReply; via: 'udp' | 'tcp' } | { ok: false; reason: 'timeout' | 'network' | 'malformed' };

/** Exchange is one query under way with one upstream. */
export interface Exchange {
  /** cancel stops waiting and closes the sockets; `done` is not called. */
  cancel(): void;
}

/**
 * exchange sends one query to one upstream over UDP from a fresh socket (a new random source
 * port per query, RFC 5452 §9.2), connected so that an ICMP port-unreachable ends it at once;
 * a truncated reply (TC=1) is asked again over TCP (RFC 7766 §5). Datagrams that do not answer
 * the query (wrong ID or question, malformed) are ignored, as a forged reply would be. `done` is
 * called once, at the latest after `timeoutMs`.
 */
export function exchange(up: UpstreamAddress, query: Buffer, timeoutMs: number, done: (o: ExchangeOutcome) => void, ignored?: (p: ReplyProblem) => void): Exchange {
  let finished = false;
  let udp: dgram.Socket | undefined;
  let tcp: net.Socket | undefined;
  const timer = setTimeout(() => finish({ ok: false, reason: 'timeout' }), timeoutMs);

  function cleanup(): void {
    clearTimeout(timer);
    closeUdp();
    tcp?.destroy();
  }
  function closeUdp(): void {
    const s = udp;
    udp = undefined;
    try {
      s?.close();
    } catch {
      // already closed
    }
  }
  function finish(o: ExchangeOutcome): void {
    if (finished) return;
    finished = true;
    cleanup();
    done(o);
  }

  function viaTcp(): void {
    const s = net.connect({ host: up.host, port: up.port, noDelay: true });
    tcp = s;
    const framed = Buffer.allocUnsafe(2 + query.length);
    framed.writeUInt16BE(query.length, 0);
    query.copy(framed, 2);
    s.on('connect', () => s.write(framed));
    let buf: Buffer = Buffer.alloc(0);
    s.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      if (buf.length < 2) return;
      const need = 2 + buf.readUInt16BE(0);
      if (buf.length < need) return;
      const r = checkReply(Buffer.from(buf.subarray(2, need)), query);
      if (typeof r === 'string') finish({ ok: false, reason: 'malformed' });
      else finish({ ok: true, reply: r, via: 'tcp' });
    });
    s.on('error', () => finish({ ok: false, reason: 'network' }));
    s.on('close', () => finish({ ok: false, reason: 'network' }));
  }

  const s = dgram.createSocket(up.family === 6 ? 'udp6' : 'udp4');
  udp = s;
  s.on('error', () => finish({ ok: false, reason: 'network' }));
  s.on('message', (msg) => {
    const r = checkReply(msg, query);
    if (typeof r === 'string') return ignored?.(r);
    if (!r.scan.tc) return finish({ ok: true, reply: r, via: 'udp' });
    closeUdp();
    viaTcp();
  });
  // Bound before connecting: only then does Node report the ICMP error (ECONNREFUSED) on receive.
  s.bind(0, () => {
    if (finished) return;
    // A failed connect is reported through the 'error' event.
    s.connect(up.port, up.host, () => {
      if (!finished) s.send(query, (e) => e && finish({ ok: false, reason: 'network' }));
    });
  });

  return {
    cancel() {
      finished = true;
      cleanup();
    },
  };
}
