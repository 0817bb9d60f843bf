import { performance } from 'node:perf_hooks';
import type { Query } from '../dns/message.js';
import { nameToKey } from '../dns/names.js';
import type { Registry } from '../registry/registry.js';

/**
 * The query path's counters: plain typed arrays indexed by small integers, bumped with `++`.
 * No label object, hash or allocation per query; prom-client reads the arrays when scraped
 * (dns-metrics.ts). Every label comes from a bounded set, never the query name or the client
 * (CoreDNS refuses unbounded labels too: coredns/coredns#4507).
 */

/** QTYPE_LABELS are the query types counted by name; every other type is "other". */
export const QTYPE_LABELS = ['A', 'AAAA', 'CNAME', 'MX', 'NS', 'PTR', 'SOA', 'SRV', 'TXT', 'SVCB', 'HTTPS', 'ANY', 'other'] as const;
/** QTYPE_NUMBERS are the numbers of QTYPE_LABELS, in the same order. */
export const QTYPE_NUMBERS = [1, 28, 5, 15, 2, 12, 6, 33, 16, 64, 65, 255];
const OTHER_TYPE = QTYPE_LABELS.length - 1;
const TYPE_INDEX = new Uint8Array(256).fill(OTHER_TYPE);
QTYPE_NUMBERS.forEach((t, i) => (TYPE_INDEX[t] = i));

/** RCODE_LABELS name response codes 0-15 (RFC 6895 §2.3) and BADVERS (16, RFC 6891). */
export const RCODE_LABELS = [
  'NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET',
  'NXRRSET', 'NOTAUTH', 'NOTZONE', 'RCODE11', 'RCODE12', 'RCODE13', 'RCODE14', 'RCODE15', 'BADVERS',
] as const;

/** PROTO_LABELS and FAMILY_LABELS as CoreDNS writes them (family 1 = IPv4, 2 = IPv6). */
export const PROTO_LABELS = ['udp', 'tcp'] as const;
export const FAMILY_LABELS = ['1', '2'] as const;

/** DROP_REASONS: why a message got no reply at all. */
export const DROP_REASONS = ['malformed', 'response', 'ratelimit'] as const;
/** DropReason indexes DROP_REASONS. */
export const DROP = { malformed: 0, response: 1, ratelimit: 2 } as const;

/** TCP_CLOSE_REASONS: why the server closed a TCP connection itself (RFC 7766 §6.2.3). */
export const TCP_CLOSE_REASONS = ['limit', 'idle', 'slow', 'backpressure', 'error'] as const;
/** TCP_CLOSE indexes TCP_CLOSE_REASONS. */
export const TCP_CLOSE = { limit: 0, idle: 1, slow: 2, backpressure: 3, error: 4 } as const;

/** DURATION_BUCKETS in seconds: CoreDNS's (0.25 ms doubling to 8.192 s), after a finer start for answers from memory. */
export const DURATION_BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192];
const BUCKET_MS = DURATION_BUCKETS.map((s) => s * 1000);

/** One query in TIME_ONE_IN is timed for the duration histogram (see DnsStats.now). */
export const TIME_ONE_IN = 8;

const NT = QTYPE_LABELS.length;
const NR = RCODE_LABELS.length;
const NB = DURATION_BUCKETS.length + 1; // + the +Inf bucket

/** The zone labels every server has: names outside our zones, and the two reverse trees. */
const FIXED_ZONES = [
  { name: '.', key: '' },
  { name: 'in-addr.arpa.', key: '\x07in-addr\x04arpa\0' },
  { name: 'ip6.arpa.', key: '\x03ip6\x04arpa\0' },
];

/** ListenerStats is what the UDP and TCP listeners count themselves. */
export interface ListenerStats {
  readonly dropped: Float64Array;
  ratelimitSlips: number;
  tcpOpen: number;
  tcpAccepted: number;
  readonly tcpClosed: Float64Array;
}

/**
 * DnsStats counts requests by zone, proto, family and type; responses by zone and rcode; and
 * request durations by zone, in a histogram. Zones are the registry's cluster domains (followed
 * on every swap; a zone once seen keeps its counters, so counters never go down), the reverse
 * trees, and "." for everything else.
 */
export class DnsStats implements ListenerStats {
  /** Zone labels by index. */
  readonly zones: string[] = FIXED_ZONES.map((z) => z.name);
  // Zone keys to match, longest first, with their index in `zones`.
  private match: Array<{ key: string; index: number }> = [];
  private capacity = 8;
  requests = new Float64Array(this.capacity * 2 * 2 * NT);
  responses = new Float64Array(this.capacity * NR);
  buckets = new Float64Array(this.capacity * NB);
  durationSum = new Float64Array(this.capacity);
  readonly dropped = new Float64Array(DROP_REASONS.length);
  readonly tcpClosed = new Float64Array(TCP_CLOSE_REASONS.length);
  ratelimitSlips = 0;
  tcpOpen = 0;
  tcpAccepted = 0;

  constructor(registry?: Registry) {
    this.setZones([]);
    if (registry) {
      const follow = () => this.setZones(registry.current?.zones.map((z) => z.settings.domain) ?? []);
      follow();
      registry.onSwap(follow);
    }
  }

  /** setZones makes these domains countable zones (in addition to every zone seen before). */
  setZones(domains: readonly string[]): void {
    for (const d of domains) {
      const name = `${d.replace(/\.$/, '').toLowerCase()}.`;
      if (!this.zones.includes(name)) this.zones.push(name);
    }
    this.grow();
    const keyed = this.zones.map((name, index) => ({ key: FIXED_ZONES[index]?.key ?? nameToKey(name), index })).filter((z) => z.key !== '');
    // Longest first, so a zone nested in another one wins its names.
    this.match = keyed.sort((a, b) => b.key.length - a.key.length);
  }

  /** zoneOf gives the zone index of a query key: the longest zone that ends it at a label boundary, else 0 ("."). */
  zoneOf(key: string): number {
    const match = this.match;
    for (let i = 0; i < match.length; i++) {
      const z = match[i]!;
      if (key.length >= z.key.length && key.endsWith(z.key) && onBoundary(key, key.length - z.key.length)) return z.index;
    }
    return 0;
  }

  private tick = 0;

  /**
   * now starts timing a query: the clock (ms, monotonic) for one query in TIME_ONE_IN, -1 for the
   * others. Two clock reads cost more than all the counting (~120 ns vs ~60 ns here), so the
   * histogram is fed by systematic sampling: each timed query counts TIME_ONE_IN times. Its
   * quantiles and mean are unbiased and its _count follows the requests to within TIME_ONE_IN;
   * the request and response counters stay exact.
   */
  now(): number {
    return this.sampleNext() ? performance.now() : -1;
  }

  /** sampleNext says whether the next query is one of those timed. */
  sampleNext(): boolean {
    return ++this.tick % TIME_ONE_IN === 0;
  }

  /** record counts one answered (or unanswered) query and, when it was timed (`started` >= 0), how long it took. */
  record(q: Query, out: Buffer | null, started: number): void {
    this.count(q, out, started < 0 ? -1 : performance.now() - started);
  }

  /** count counts a query that took `ms` milliseconds, weighing TIME_ONE_IN in the histogram; -1: not timed. */
  count(q: Query, out: Buffer | null, ms: number): void {
    const z = this.zoneOf(q.key);
    const c = q.client;
    // IPv4 clients of a dual-stack socket arrive as ::ffff:a.b.c.d and count as IPv4, as in CoreDNS.
    const family = c.indexOf(':') >= 0 && !c.startsWith('::ffff:') ? 1 : 0;
    const t = q.qtype < 256 ? TYPE_INDEX[q.qtype]! : OTHER_TYPE;
    this.requests[((z * 2 + (q.transport === 'tcp' ? 1 : 0)) * 2 + family) * NT + t]!++;
    if (out !== null && out.length >= 4) {
      // Extended rcodes live in the OPT record (RFC 6891 §6.1.3); BADVERS is the only one we send.
      const rcode = q.error > 15 ? 16 : out[3]! & 0x0f;
      this.responses[z * NR + rcode]!++;
    }
    if (ms < 0) return;
    let b = 0;
    while (b < BUCKET_MS.length && ms > BUCKET_MS[b]!) b++;
    this.buckets[z * NB + b]! += TIME_ONE_IN;
    this.durationSum[z]! += (ms / 1000) * TIME_ONE_IN;
  }

  private grow(): void {
    if (this.zones.length <= this.capacity) return;
    const old = this.capacity;
    while (this.capacity < this.zones.length) this.capacity *= 2;
    const grown = (a: Float64Array, per: number) => {
      const b = new Float64Array(this.capacity * per);
      b.set(a.subarray(0, old * per));
      return b;
    };
    this.requests = grown(this.requests, 2 * 2 * NT);
    this.responses = grown(this.responses, NR);
    this.buckets = grown(this.buckets, NB);
    this.durationSum = grown(this.durationSum, 1);
  }
}

// True when `at` starts a label of the key: walking the label lengths from the start lands on it.
function onBoundary(key: string, at: number): boolean {
  let i = 0;
  while (i < at) i += key.charCodeAt(i) + 1;
  return i === at;
}

/** STATS_SHAPE exports the array layout for dns-metrics.ts. */
export const STATS_SHAPE = { types: NT, rcodes: NR, buckets: NB } as const;
