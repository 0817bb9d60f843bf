import { performance } from 'node:perf_hooks';
import type { Query, Transport } from '../dns/message.js';
import { keyToName } from '../dns/names.js';
import type { Logger } from '../log.js';
import { DROP, QTYPE_LABELS, QTYPE_NUMBERS, RCODE_LABELS, type DnsStats } from './dns-stats.js';

/**
 * QueryObserver sees every message the DNS server handles: the server calls `now()` before
 * parsing, `done()` with the reply (or null) and `dropped()` for messages it cannot even read.
 */
export interface QueryObserver {
  now(): number;
  done(q: Query, out: Buffer | null, started: number): void;
  dropped(message: Buffer, transport: Transport): void;
}

/**
 * queryObserver counts into `stats`, and logs each query when a query log is given. The choice
 * is made here, once: with the query log off, the per-query path has no log branch at all.
 */
export function queryObserver({ stats, queryLog }: { stats: DnsStats; queryLog?: Logger | undefined }): QueryObserver {
  const dropped = (message: Buffer) => void stats.dropped[message.length < 12 ? DROP.malformed : DROP.response]!++;
  if (!queryLog) {
    return { now: () => stats.now(), done: (q, out, started) => stats.record(q, out, started), dropped };
  }
  const log = queryLog;
  return {
    // Every query is timed for its log line; the histogram still takes one in TIME_ONE_IN.
    now: () => performance.now(),
    done(q, out, started) {
      const ms = performance.now() - started;
      stats.count(q, out, stats.sampleNext() ? ms : -1);
      log.info(queryLogLine(q, out, ms), 'query');
    },
    dropped(message, transport) {
      dropped(message);
      log.info({ proto: transport, size: message.length, dropped: message.length < 12 ? 'malformed' : 'response' }, 'query dropped');
    },
  };
}

/** queryLogLine gives the fields CoreDNS's log plugin prints, as JSON: who asked what, and the answer's rcode, flags, size and time. */
export function queryLogLine(q: Query, out: Buffer | null, ms: number): Record<string, unknown> {
  const t = QTYPE_NUMBERS.indexOf(q.qtype);
  return {
    client: q.client,
    proto: q.transport,
    id: q.buf.length >= 2 ? q.buf.readUInt16BE(0) : 0,
    // qname/qtype, not name/type: `name` is the logger's own field ("svcdns").
    qname: q.key ? keyToName(q.key) : '',
    qtype: t >= 0 ? QTYPE_LABELS[t] : `TYPE${q.qtype}`,
    size: q.buf.length,
    do: q.ednsDo,
    bufsize: q.ednsSize,
    rcode: out && out.length >= 4 ? (RCODE_LABELS[q.error > 15 ? 16 : out[3]! & 0x0f] ?? 'other') : 'none',
    rflags: out && out.length >= 4 ? flags(out) : '',
    rsize: out ? out.length : 0,
    duration_ms: Math.round(ms * 1000) / 1000,
  };
}

function flags(out: Buffer): string {
  const f: string[] = [];
  if (out[2]! & 0x80) f.push('qr');
  if (out[2]! & 0x04) f.push('aa');
  if (out[2]! & 0x02) f.push('tc');
  if (out[2]! & 0x01) f.push('rd');
  if (out[3]! & 0x80) f.push('ra');
  return f.join(',');
}
