import { LRUCache } from 'lru-cache';
import type { Acl } from '../../../net/acl.js';
import type { Registry } from '../../../registry/registry.js';
import type { Snapshot } from '../../../registry/snapshot.js';
import type { Handler, Reply, WireReply } from '../../handler.js';
import type { Query } from '../../message.js';
import { cacheEntry, type CacheEntry } from './entry.js';

/** CacheStats are the cache's counters, for the metrics endpoint to read (issue 7). */
export class CacheStats {
  /** Answers served from the cache: positive ones, and NXDOMAIN/NODATA (denial). */
  hits = 0;
  denialHits = 0;
  /** Forwarded queries the cache could not answer. */
  misses = 0;
  /** Answers stored, and answers not stored (uncacheable, or a name the registry now owns). */
  inserts = 0;
  skipped = 0;
  /** entries counts the cached answers; set by the cache. */
  entries: () => number = () => 0;
}

/** CacheOptions configure cacheHandler. */
export interface CacheOptions {
  /** Bound on cached answers; an answer counts once per started 4 KiB. */
  size?: number;
  /** TTL bounds in seconds for every cached answer, positive or negative. */
  minTtl?: number;
  maxTtl?: number;
  /** Only clients allowed recursion get cached (forwarded) answers. */
  acl: Acl;
  /** The registry, so that names it owns are never held by the cache. */
  registry?: Registry;
  stats?: CacheStats;
  /** Milliseconds (tests pass a fake clock). */
  now?: () => number;
}

/** variantOf keys what besides the name selects an answer: qtype, DO (RRSIGs) and CD (RFC 4035 §3.2.2). */
export function variantOf(q: Query): number {
  return q.qtype * 4 + (q.ednsDo ? 2 : 0) + (q.buf[3]! & 0x10 ? 1 : 0);
}

/**
 * cacheHandler keeps forwarded answers as bytes (lru-cache), and serves them with the ID and
 * question patched and the TTLs counted down (relay.ts), as long as they live. Registry answers are
 * never cached: only replies of kind 'wire' that come back from the forwarder are stored, and not
 * for names the registry owns (they are prebuilt and always current); when the registry's zones
 * or CIDRs change, cached names it now owns are dropped. Only IN-class questions are cached.
 *
 * The LRU is keyed by the question's name key (no string built per query, so registry names pay
 * one Map lookup here) and holds the few variants (qtype, DO, CD) of that name.
 */
export function cacheHandler({ size = 10_000, minTtl = 0, maxTtl = 3600, acl, registry, stats = new CacheStats(), now = () => performance.now() }: CacheOptions): Handler {
  const lru = new LRUCache<string, readonly CacheEntry[]>({
    maxSize: size,
    sizeCalculation: (v) => v.reduce((n, e) => n + e.units, 0),
    perf: { now },
  });
  stats.entries = () => {
    let n = 0;
    for (const v of lru.values()) n += v.length;
    return n;
  };
  if (registry) registry.onSwap((next, previous) => dropOwned(lru, next, previous));

  function store(q: Query, variant: number, reply: Reply): void {
    if (reply.kind !== 'wire' || registry?.current?.dns.zoneOf(q.key)) {
      stats.skipped++;
      return;
    }
    const t = now();
    const e = cacheEntry(reply, variant, t, { minTtl, maxTtl });
    if (!e) {
      stats.skipped++;
      return;
    }
    const kept = (lru.get(q.key) ?? []).filter((o) => o.variant !== variant && o.expires > t);
    const all = [...kept, e];
    lru.set(q.key, all, { ttl: Math.max(...all.map((o) => o.expires)) - t });
    stats.inserts++;
  }

  return function cache(q, next) {
    const entries = lru.get(q.key);
    const variant = variantOf(q);
    if (entries && q.qclass === 1 && acl.allows(q.client)) {
      for (const e of entries) {
        if (e.variant !== variant) continue;
        const t = now();
        if (e.expires <= t) break;
        if (e.negative) stats.denialHits++;
        else stats.hits++;
        const reply: WireReply = { kind: 'wire', message: e.message, leanLen: e.leanLen, ttlAt: e.ttlAt, age: Math.floor((t - e.stored) / 1000) };
        return reply;
      }
    }
    const r = next(q);
    // Registry answers come back synchronously and are never cached: the hot path ends here.
    if (!(r instanceof Promise) || q.qclass !== 1) return r;
    stats.misses++;
    return r.then((reply) => {
      store(q, variant, reply);
      return reply;
    });
  };
}

// A new snapshot whose zones or CIDRs differ may own names that were forwarded and cached.
function dropOwned(lru: LRUCache<string, readonly CacheEntry[]>, next: Snapshot, previous: Snapshot | undefined): void {
  if (previous && shape(previous) === shape(next)) return;
  for (const key of [...lru.keys()]) if (next.dns.zoneOf(key)) lru.delete(key);
}

function shape(s: Snapshot): string {
  return s.zones.map((z) => `${z.settings.domain}|${z.settings.serviceCIDRs.map((c) => c.text).join(',')}|${z.settings.podCIDRs.map((c) => c.text).join(',')}`).join(' ');
}
