import { Histogram } from 'prom-client';
import { counterFrom, gaugeFrom, type MetricsRegistry, type Sample } from './metrics.js';
import {
  DROP_REASONS,
  DURATION_BUCKETS,
  FAMILY_LABELS,
  PROTO_LABELS,
  QTYPE_LABELS,
  RCODE_LABELS,
  STATS_SHAPE,
  TCP_CLOSE_REASONS,
  type DnsStats,
} from './dns-stats.js';

export { DnsStats } from './dns-stats.js';

/**
 * dnsMetrics registers the DNS server's metrics, named as CoreDNS's under `svcdns_`
 * (coredns_dns_requests_total → svcdns_dns_requests_total), all read from `stats` when scraped.
 */
export function dnsMetrics(registry: MetricsRegistry, stats: DnsStats): void {
  const { types: NT, rcodes: NR } = STATS_SHAPE;
  counterFrom(registry, {
    name: 'svcdns_dns_requests_total',
    help: 'Counter of DNS requests made per zone, protocol, family and type.',
    labelNames: ['zone', 'proto', 'family', 'type'],
    read: function* (): Iterable<Sample<'zone' | 'proto' | 'family' | 'type'>> {
      const r = stats.requests;
      for (let z = 0; z < stats.zones.length; z++)
        for (let p = 0; p < 2; p++)
          for (let f = 0; f < 2; f++)
            for (let t = 0; t < NT; t++) {
              const v = r[((z * 2 + p) * 2 + f) * NT + t]!;
              if (v) yield [{ zone: stats.zones[z]!, proto: PROTO_LABELS[p]!, family: FAMILY_LABELS[f]!, type: QTYPE_LABELS[t]! }, v];
            }
    },
  });
  counterFrom(registry, {
    name: 'svcdns_dns_responses_total',
    help: 'Counter of DNS responses per zone and rcode.',
    labelNames: ['zone', 'rcode'],
    read: function* (): Iterable<Sample<'zone' | 'rcode'>> {
      for (let z = 0; z < stats.zones.length; z++)
        for (let c = 0; c < NR; c++) {
          const v = stats.responses[z * NR + c]!;
          if (v) yield [{ zone: stats.zones[z]!, rcode: RCODE_LABELS[c]! }, v];
        }
    },
  });
  registry.registerMetric(new DurationHistogram(stats));
  counterFrom(registry, {
    name: 'svcdns_dns_dropped_total',
    help: 'Messages that got no reply: malformed (shorter than a header), response (QR=1) or ratelimit.',
    labelNames: ['reason'],
    read: () => DROP_REASONS.map((reason, i) => [{ reason }, stats.dropped[i]!] as const),
  });
  counterFrom(registry, {
    name: 'svcdns_dns_ratelimit_slipped_total',
    help: 'Rate-limited UDP queries answered with an empty TC=1 response (a "slip") instead of being dropped.',
    read: () => stats.ratelimitSlips,
  });
  gaugeFrom(registry, { name: 'svcdns_dns_tcp_connections', help: 'TCP connections open now.', read: () => stats.tcpOpen });
  counterFrom(registry, { name: 'svcdns_dns_tcp_connections_total', help: 'TCP connections accepted.', read: () => stats.tcpAccepted });
  counterFrom(registry, {
    name: 'svcdns_dns_tcp_closed_total',
    help: 'TCP connections the server closed itself: limit (over the connection cap), idle, slow (message incomplete past the deadline), backpressure (client not reading), error.',
    labelNames: ['reason'],
    read: () => TCP_CLOSE_REASONS.map((reason, i) => [{ reason }, stats.tcpClosed[i]!] as const),
  });
}

/**
 * svcdns_dns_request_duration_seconds by zone: a prom-client Histogram whose buckets are the
 * plain counters DnsStats keeps, so observing costs a few comparisons and no allocation.
 */
const DURATION_HELP = 'Histogram of the time (in seconds) each request took, per zone.';
class DurationHistogram extends Histogram<'zone'> {
  constructor(private readonly stats: DnsStats) {
    super({ name: 'svcdns_dns_request_duration_seconds', help: DURATION_HELP, labelNames: ['zone'], buckets: DURATION_BUCKETS, registers: [] });
  }

  /** getForPromString is what the registry calls to render the text format. */
  async getForPromString(): Promise<Awaited<ReturnType<Histogram<'zone'>['get']>>> {
    const { stats } = this;
    const NB = STATS_SHAPE.buckets;
    const name = 'svcdns_dns_request_duration_seconds';
    const values: Array<{ value: number; labels: Record<string, string | number>; metricName: string }> = [];
    for (let z = 0; z < stats.zones.length; z++) {
      let count = 0;
      for (let b = 0; b < NB; b++) count += stats.buckets[z * NB + b]!;
      if (!count) continue;
      const zone = stats.zones[z]!;
      let cumulative = 0;
      for (let b = 0; b < NB; b++) {
        cumulative += stats.buckets[z * NB + b]!;
        values.push({ value: cumulative, labels: { le: b < DURATION_BUCKETS.length ? DURATION_BUCKETS[b]! : '+Inf', zone }, metricName: `${name}_bucket` });
      }
      values.push({ value: stats.durationSum[z]!, labels: { zone }, metricName: `${name}_sum` });
      values.push({ value: count, labels: { zone }, metricName: `${name}_count` });
    }
    // prom-client's typings declare `type` as a numeric enum; at run time (and in the text
    // format) it is the string, as in its own Histogram.
    const metric = { name, help: DURATION_HELP, type: 'histogram', aggregator: 'sum', collect: () => undefined, values };
    return metric as unknown as Awaited<ReturnType<Histogram<'zone'>['get']>>;
  }

  override get(): ReturnType<Histogram<'zone'>['get']> {
    return this.getForPromString();
  }
}
