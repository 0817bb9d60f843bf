import type { WireReply } from '../../handler.js';
import { scanMessage } from '../../scan.js';
import { RCODE } from '../../types.js';

/** CacheEntry is one cached answer: the message with its TTLs clamped, and when it was stored. */
export interface CacheEntry {
  /** qtype, DO and CD bits of the question (see variantOf). */
  readonly variant: number;
  readonly message: Buffer;
  readonly ttlAt: readonly number[];
  readonly leanLen: number;
  /** Milliseconds on the cache's clock. */
  readonly stored: number;
  readonly expires: number;
  /** NXDOMAIN or NODATA (RFC 2308). */
  readonly negative: boolean;
  /** Size units: one per started 4 KiB, so a few large answers cannot take the memory of many. */
  readonly units: number;
}

/** TtlBounds clamp the TTLs of cached answers (seconds). */
export interface TtlBounds {
  minTtl: number;
  maxTtl: number;
}

/**
 * cacheEntry turns an upstream's answer into a cache entry, or returns undefined when it must
 * not be cached: truncated, an rcode other than NOERROR/NXDOMAIN, a negative answer without an
 * SOA (RFC 2308 §5), or a TTL of 0. The entry lives for the smallest TTL of the answer and
 * authority sections; a negative one for the SOA's TTL or MINIMUM, whichever is less (RFC 2308
 * §5), both clamped to [minTtl, maxTtl]. The stored TTL fields are clamped the same way, and the
 * SOA of a negative answer carries the negative TTL (RFC 2308 §3), so that served answers count
 * down to the end of the entry's life.
 */
export function cacheEntry(reply: WireReply, variant: number, now: number, { minTtl, maxTtl }: TtlBounds): CacheEntry | undefined {
  const s = scanMessage(reply.message);
  if (!s || s.tc || s.qdcount !== 1) return undefined;
  if (s.rcode !== RCODE.NOERROR && s.rcode !== RCODE.NXDOMAIN) return undefined;
  const negative = s.rcode === RCODE.NXDOMAIN || s.answerTypes.length === 0;
  let ttl = s.minTtl;
  if (negative) {
    if (!s.soa) return undefined;
    ttl = Math.min(ttl, s.soa.minimum); // s.minTtl already includes the SOA's own TTL
  }
  ttl = Math.min(Math.max(ttl, minTtl), maxTtl);
  if (ttl <= 0) return undefined;
  const message = Buffer.from(reply.message);
  for (const at of s.ttlAt) {
    const raw = message.readUInt32BE(at);
    message.writeUInt32BE(Math.min(Math.max(raw > 0x7fffffff ? 0 : raw, minTtl), maxTtl), at);
  }
  if (negative && s.soa) message.writeUInt32BE(ttl, s.soa.ttlAt);
  return {
    variant,
    message,
    ttlAt: s.ttlAt,
    leanLen: reply.leanLen ?? -1,
    stored: now,
    expires: now + ttl * 1000,
    negative,
    units: Math.max(1, Math.ceil(message.length / 4096)),
  };
}
