import { LRUCache } from 'lru-cache';
import { errorFrom, parseQuery } from './message.js';
import { RCODE } from './types.js';

/** RateLimitOptions configure the per-client UDP response rate limit. */
export interface RateLimitOptions {
  /** Responses per second each client address may receive; 0 turns the limit off. */
  qps: number;
  /** Every Nth limited query gets an empty TC=1 reply instead of nothing (BIND RRL's "slip"); 0 drops all. */
  slip?: number;
  /** Responses a client may receive in a burst above the rate; defaults to one second's worth. */
  burst?: number;
  /** Clients tracked at once; the least recently seen are forgotten (and start with a full bucket). */
  maxClients?: number;
}

/** Verdict of the rate limiter for one query. */
export const RATE = { pass: 0, drop: 1, slip: 2 } as const;

interface Bucket {
  tokens: number;
  last: number;
  limited: number;
}

/**
 * RateLimiter is a token bucket per client address, kept in a bounded LRU: a spoofed-source flood
 * can only evict buckets (their clients start again with a full one), never grow memory. Over
 * the limit, queries are dropped, and every `slip`-th one gets a truncated reply so a real client
 * behind a spoofed address can still get its answer over TCP (BIND RRL, "slip 2" by default).
 */
export class RateLimiter {
  private readonly buckets: LRUCache<string, Bucket>;
  private readonly qps: number;
  private readonly burst: number;
  private readonly slip: number;

  constructor({ qps, slip = 2, burst = Math.max(qps, 1), maxClients = 100_000 }: RateLimitOptions) {
    this.qps = qps;
    this.burst = burst;
    this.slip = slip;
    this.buckets = new LRUCache({ max: maxClients });
  }

  /** check takes a token for the client at time `now` (ms) and says whether to answer, drop or slip. */
  check(client: string, now: number): (typeof RATE)[keyof typeof RATE] {
    const b = this.buckets.get(client);
    if (!b) {
      this.buckets.set(client, { tokens: this.burst - 1, last: now, limited: 0 });
      return RATE.pass;
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.last) * this.qps) / 1000);
    b.last = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return RATE.pass;
    }
    b.limited++;
    return this.slip > 0 && b.limited % this.slip === 0 ? RATE.slip : RATE.drop;
  }

  /** size is the number of clients tracked now. */
  get size(): number {
    return this.buckets.size;
  }
}

/**
 * slipReply is the "slip" answer to a rate-limited query: the header and question with TC=1 and
 * no records, no larger than the query, so the client retries over TCP (RFC 7766 §5) and a
 * spoofed victim gets no amplification. Null for messages that get no reply at all.
 */
export function slipReply(message: Buffer): Buffer | null {
  const q = parseQuery(message, 'udp');
  if (!q) return null;
  const out = errorFrom(q, q.error >= 0 ? q.error : RCODE.NOERROR, false);
  out[2]! |= 0x02;
  return out;
}
