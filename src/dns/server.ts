import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import type { ListenerStats } from '../ops/dns-stats.js';
import type { QueryObserver } from '../ops/observe.js';
import type { Registry } from '../registry/registry.js';
import { clusterHandler } from './handlers/cluster/index.js';
import { compose, rcodeReply, type Handler, type Next } from './handler.js';
import { errorFrom, parseQuery, type Query, type Transport } from './message.js';
import { replyBytes as toBytes } from './relay.js';
import { listenTcp, type TcpOptions } from './tcp.js';
import { RCODE, TYPE } from './types.js';
import { listenUdp, type UdpOptions } from './udp.js';
import { readExtraRecords } from './wire.js';

/** DnsServerOptions configure createDnsServer. */
export interface DnsServerOptions {
  registry: Registry;
  log: Logger;
  /**
   * The handler chain in order; defaults to [cluster]. What no handler answers is REFUSED.
   * With forwarding (src/cli/resolver.ts): [autopath?, cache?, cluster, forward].
   */
  handlers?: Handler[];
  /** RA bit in responses: set when the chain forwards for this client (a function of its address). */
  recursionAvailable?: boolean | ((client: string) => boolean);
  tcp?: Partial<TcpOptions>;
  udp?: UdpOptions;
  /** Counts (and, with the query log on, logs) every message; see src/ops/. */
  observe?: QueryObserver;
  /** What the listeners count themselves: drops, rate-limit slips, TCP connections. */
  listenerStats?: ListenerStats;
}

/** HandleResult is a response to send, or null for "send nothing". */
export type HandleResult = Buffer | null;

/** DnsServer answers DNS messages; listening is separate from building (tests call handle directly). */
export interface DnsServer {
  /** handle answers one DNS message from a client address; synchronous whenever the chain is. */
  handle(message: Buffer, transport?: Transport, client?: string): HandleResult | Promise<HandleResult>;
  /** listen opens UDP and TCP on host:port (port 0 picks a free one, the same for both). */
  listen(host: string, port: number): Promise<{ udp: AddressInfo; tcp: AddressInfo }>;
  /** close stops taking queries, sends the answers in flight, then closes the sockets. */
  close(): Promise<void>;
}

/** createDnsServer builds a server around a registry and a handler chain. */
export function createDnsServer({ registry, log, handlers, recursionAvailable = false, tcp = {}, udp = {}, observe, listenerStats }: DnsServerOptions): DnsServer {
  const dnsLog = log.child({ module: 'dns' });
  const refuse: Next = () => rcodeReply(RCODE.REFUSED);
  const chain = compose(handlers ?? [clusterHandler({ registry })], refuse);
  const closers: Array<() => Promise<void>> = [];

  const raFor = typeof recursionAvailable === 'function' ? recursionAvailable : () => recursionAvailable;

  function failed(q: Query, err: unknown, ra: boolean): Buffer {
    dnsLog.error({ err }, 'failed to answer a query; replied SERVFAIL');
    return errorFrom(q, RCODE.SERVFAIL, ra);
  }

  function handle(message: Buffer, transport: Transport = 'udp', client = ''): HandleResult | Promise<HandleResult> {
    const started = observe ? observe.now() : 0;
    const q = parseQuery(message, transport, client);
    if (!q) {
      if (observe) observe.dropped(message, transport);
      return null;
    }
    const out = answer(q);
    if (!observe) return out;
    if (out instanceof Promise) return out.then((b) => (observe.done(q, b, started), b));
    observe.done(q, out, started);
    return out;
  }

  function answer(q: NonNullable<ReturnType<typeof parseQuery>>): HandleResult | Promise<HandleResult> {
    const ra = raFor(q.client);
    try {
      if (q.needsFullParse) readExtraRecords(q);
      if (q.error >= 0) return errorFrom(q, q.error, ra);
      const early = screen(q);
      if (early) return errorFrom(q, early, ra);
      const reply = chain(q);
      if (reply instanceof Promise) return reply.then((r) => toBytes(q, r, ra), (err: unknown) => failed(q, err, ra));
      return toBytes(q, reply, ra);
    } catch (err) {
      return failed(q, err, ra);
    }
  }

  return {
    handle,
    async listen(host, port) {
      // DNS is one port for UDP and TCP. With port 0 the kernel picks a free UDP port that may be
      // taken for TCP: then both are opened again on another pick, never on two different ports.
      for (let attempt = 1; ; attempt++) {
        const u = await listenUdp({ host, port, handle, log: dnsLog, stats: listenerStats, ...udp });
        const t = await listenTcp({ host, port: u.address.port, handle, log: dnsLog, stats: listenerStats, ...tcp }).catch(async (err: unknown) => {
          await u.close();
          if (port !== 0 || attempt >= 10 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
          return null;
        });
        if (!t) continue;
        closers.push(u.close, t.close);
        return { udp: u.address, tcp: t.address };
      }
    },
    async close() {
      await Promise.all(closers.splice(0).map((c) => c()));
    },
  };
}

// Queries the chain never sees: zone transfers (no transfer is configured, as CoreDNS without
// the transfer plugin), meta types as questions, and classes other than IN (and ANY).
function screen(q: Query): number {
  if (q.qtype === TYPE.AXFR || q.qtype === TYPE.IXFR) return RCODE.REFUSED;
  if (q.qtype === TYPE.OPT) return RCODE.FORMERR;
  if (q.qtype >= 249 && q.qtype <= 254) return RCODE.NOTIMP; // TKEY, TSIG, MAILB, MAILA
  if (q.qclass !== 1 && q.qclass !== 255) return RCODE.REFUSED;
  return 0;
}
