import { LRUCache } from 'lru-cache';
import type { Registry } from '../../../registry/registry.js';
import type { Handler, Next, Reply, WireReply } from '../../handler.js';
import { parseQuery, writeOpt, type Query } from '../../message.js';
import { replyBytes } from '../../relay.js';
import { scanMessage } from '../../scan.js';
import type { NegativeReply } from '../../table.js';
import { RCODE } from '../../types.js';
import { aliasAnswer, classify } from './answer.js';
import { planAutopath } from './plan.js';

export { planAutopath, type Plan } from './plan.js';

/** AutopathStats are autopath's counters, for the metrics endpoint to read (issue 7). */
export class AutopathStats {
  /** Walks made, and how they ended: an answer, NXDOMAIN everywhere, or stopped (NODATA, SERVFAIL...). */
  walks = 0;
  answered = 0;
  allNxdomain = 0;
  stopped = 0;
  /** First-expansion-shaped NXDOMAIN queries left to the client, by reason (see plan.ts). */
  readonly skipped = new Map<string, number>();
}

/** AutopathOptions configure autopathHandler. */
export interface AutopathOptions {
  registry: Registry;
  /** The node's search domains as keys (from resolv.conf), appended as kubelet appends them. */
  hostSearch?: readonly string[];
  stats?: AutopathStats;
  /** How long a client's pending search-list names are remembered, and for how many clients at most. */
  memoryMs?: number;
  memoryMax?: number;
}

/**
 * autopathHandler walks a pod's search list on the server (CoreDNS's autopath): a query for
 * `<B>.<ns>.svc.<zone>` that the registry answers NXDOMAIN is retried, through the rest of the
 * chain, as `<B>.svc.<zone>`, `<B>.<zone>`, `<B>.<node search domain>`... and `<B>`; the first
 * positive answer is returned behind a CNAME from the original name. It sits first in the chain,
 * so that the names it tries go through the cache and its own answers (which depend on the
 * registry) are never cached. plan.ts and the README list when it applies.
 */
export function autopathHandler({ registry, hostSearch = [], stats = new AutopathStats(), memoryMs = 30_000, memoryMax = 10_000 }: AutopathOptions): Handler {
  // Per client: the search-list names it will ask next after an NXDOMAIN we gave it.
  const pending = new LRUCache<string, true>({ max: memoryMax, ttl: memoryMs });
  const skip = (reason: string) => stats.skipped.set(reason, (stats.skipped.get(reason) ?? 0) + 1);

  return function autopath(q, next) {
    const r = next(q);
    if (r instanceof Promise || r.kind !== 'negative' || r.rcode !== RCODE.NXDOMAIN) return r;
    const snapshot = registry.current;
    if (!snapshot) return r;
    const plan = planAutopath({
      key: q.key,
      apexKey: r.zone.apexKey,
      has: (k) => snapshot.dns.names.has(k),
      hostSearch,
      dnssec: q.ednsDo || (q.buf[3]! & 0x10) !== 0,
      isContinuation: (k) => pending.has(`${q.client}\0${k}`),
    });
    if (!plan.walk) {
      if (plan.reason === 'shape') return r;
      skip(plan.reason);
      remember(q, plan.continuation);
      return r;
    }
    stats.walks++;
    return walk(q, r, plan.baseLen, plan.candidates, next).then((answer) => {
      if (answer) {
        stats.answered++;
        return answer;
      }
      remember(q, plan.continuation);
      return r;
    });
  };

  function remember(q: Query, continuation: readonly string[]): void {
    for (const k of continuation) pending.set(`${q.client}\0${k}`, true);
  }

  // Tries each name in order; undefined when autopath leaves the answer to the client.
  async function walk(q: Query, original: NegativeReply, baseLen: number, candidates: readonly string[], next: Next): Promise<WireReply | undefined> {
    for (const key of candidates) {
      const cq = candidateQuery(q, baseLen, key);
      if (!cq) return undefined;
      const reply: Reply = await next(cq);
      const bytes = replyBytes(cq, reply, false);
      const scan = scanMessage(bytes);
      const outcome = classify(scan, q.qtype);
      if (outcome === 'nxdomain') continue;
      if (outcome === 'other' || !scan) {
        stats.stopped++;
        return undefined;
      }
      // The CNAME says "the name you asked is this one": true while the registry does not have the
      // name, so it lives no longer than the zone's negative TTL (RFC 2308 §5) nor the records.
      const auth = original.zone.auth;
      const ttl = Math.min(auth.ttl, auth.soa.minimum, scan.minTtl);
      const target = cq.buf.subarray(12, cq.qEnd - 4);
      const message = aliasAnswer(q.buf.subarray(0, q.qEnd), target, ttl, bytes, scan);
      if (!message) {
        stats.stopped++;
        return undefined;
      }
      return { kind: 'wire', message, leanLen: -1 };
    }
    stats.allNxdomain++;
    return undefined;
  }
}

// The query for one search-list name: the base labels as the client wrote them (case kept), the
// suffix, the client's type, class, ID, RD and CD bits and EDNS DO bit. TCP as transport: the
// answer is not cut to a UDP size before autopath reads it.
function candidateQuery(q: Query, baseLen: number, key: string): Query | null {
  const suffix = Buffer.from(key.slice(baseLen), 'latin1');
  const opt = q.ednsSize ? 11 : 0;
  const buf = Buffer.allocUnsafe(12 + baseLen + suffix.length + 4 + opt);
  q.buf.copy(buf, 0, 0, 4); // ID and flags
  buf.writeUInt16BE(1, 4);
  buf.writeUInt32BE(0, 6);
  buf.writeUInt16BE(opt ? 1 : 0, 10);
  q.buf.copy(buf, 12, 12, 12 + baseLen);
  suffix.copy(buf, 12 + baseLen);
  const at = 12 + baseLen + suffix.length;
  buf.writeUInt16BE(q.qtype, at);
  buf.writeUInt16BE(q.qclass, at + 2);
  if (opt) writeOpt(buf, at + 4, 0, q.ednsDo);
  const cq = parseQuery(buf, 'tcp', q.client);
  return cq && cq.error < 0 ? cq : null;
}
