import { expect } from 'chai';
import { nameToKey } from '../../src/dns/names.js';
import { createDnsServer, type DnsServer } from '../../src/dns/server.js';
import { silentLogger } from '../../src/log.js';
import { dnsMetrics } from '../../src/ops/dns-metrics.js';
import { DnsStats, QTYPE_LABELS } from '../../src/ops/dns-stats.js';
import { counterFrom, createMetricsRegistry, gaugeFrom, type MetricsRegistry } from '../../src/ops/metrics.js';
import { queryObserver } from '../../src/ops/observe.js';
import { registryMetrics } from '../../src/ops/registry-metrics.js';
import type { Registry } from '../../src/registry/registry.js';
import { query } from '../helpers/case.js';
import { loadRegistry } from '../helpers/server.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** sample reads one series' value from the text format, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics: zones as labels (a bounded set: our zones, the reverse trees, ".")', () => {
  const stats = new DnsStats();
  stats.setZones(['cluster.local', 'sub.cluster.local', 'example.test.']);
  // A key that ends with cluster.local's bytes inside one label: not in the zone.
  const sneaky = `\x0fa\x07cluster\x05local\0`;
  const rows: Array<[string, string]> = [
    ['web.shop.svc.cluster.local.', 'cluster.local.'],
    ['cluster.local.', 'cluster.local.'],
    ['x.sub.cluster.local.', 'sub.cluster.local.'],
    ['app.example.test.', 'example.test.'],
    ['xcluster.local.', '.'],
    ['example.org.', '.'],
    ['50.0.0.10.in-addr.arpa.', 'in-addr.arpa.'],
    ['b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa.', 'ip6.arpa.'],
    ['.', '.'],
  ];
  for (const [name, zone] of rows) {
    it(`${name} -> ${zone}`, () => expect(stats.zones[stats.zoneOf(nameToKey(name))]).to.equal(zone));
  }
  it('a label that contains a zone\'s bytes is not in the zone', () => expect(stats.zones[stats.zoneOf(sneaky)]).to.equal('.'));
  it('the empty key (question not read) -> .', () => expect(stats.zones[stats.zoneOf('')]).to.equal('.'));
});

describe('metrics: what a scrape shows after real queries', () => {
  let server: DnsServer;
  let metrics: MetricsRegistry;
  let registry: Registry;
  let text: string;
  before(async () => {
    registry = await loadRegistry();
    metrics = createMetricsRegistry({ version: '9.9.9' });
    const stats = new DnsStats(registry);
    dnsMetrics(metrics, stats);
    registryMetrics(metrics, registry);
    server = createDnsServer({ registry, log: silentLogger(), observe: queryObserver({ stats }), listenerStats: stats });
    const sends: Array<[Buffer, 'udp' | 'tcp', string]> = [
      [query('web.shop.svc.cluster.local', 'A'), 'udp', '127.0.0.1'],
      [query('web.shop.svc.cluster.local', 'A'), 'udp', '192.0.2.7'],
      [query('web.shop.svc.cluster.local', 'AAAA'), 'tcp', '2001:db8::1'],
      [query('web.shop.svc.cluster.local', 'A'), 'udp', '::ffff:192.0.2.8'],
      [query('nosuch.shop.svc.cluster.local', 'A'), 'udp', '127.0.0.1'],
      [query('example.org', 'A'), 'udp', '127.0.0.1'],
      [query('web.shop.svc.cluster.local', 'CAA'), 'udp', '127.0.0.1'],
      [query('app.example.test', 'SRV'), 'udp', '127.0.0.1'],
      [hex('a1b3 0100 0002 0000 0000 0000'), 'udp', '127.0.0.1'], // FORMERR, question not read
      [hex('a1b2 0100 0001'), 'udp', '127.0.0.1'], // shorter than a header: dropped
      [hex('a1b6 8100 0001 0000 0000 0000 00 0001 0001'), 'udp', '127.0.0.1'], // a response: dropped
    ];
    for (const [m, proto, client] of sends) await server.handle(m, proto, client);
    text = await metrics.metrics();
  });

  const rows: Array<[string, number]> = [
    ['svcdns_dns_requests_total{zone="cluster.local.",proto="udp",family="1",type="A"}', 4],
    ['svcdns_dns_requests_total{zone="cluster.local.",proto="tcp",family="2",type="AAAA"}', 1],
    ['svcdns_dns_requests_total{zone="cluster.local.",proto="udp",family="1",type="other"}', 1],
    ['svcdns_dns_requests_total{zone=".",proto="udp",family="1",type="A"}', 1],
    ['svcdns_dns_requests_total{zone=".",proto="udp",family="1",type="other"}', 1],
    ['svcdns_dns_requests_total{zone="example.test.",proto="udp",family="1",type="SRV"}', 1],
    ['svcdns_dns_responses_total{zone="cluster.local.",rcode="NOERROR"}', 5],
    ['svcdns_dns_responses_total{zone="cluster.local.",rcode="NXDOMAIN"}', 1],
    ['svcdns_dns_responses_total{zone=".",rcode="REFUSED"}', 1],
    ['svcdns_dns_responses_total{zone=".",rcode="FORMERR"}', 1],
    ['svcdns_dns_dropped_total{reason="malformed"}', 1],
    ['svcdns_dns_dropped_total{reason="response"}', 1],
    ['svcdns_dns_dropped_total{reason="ratelimit"}', 0],
    ['svcdns_registry_objects{kind="Service"}', 17],
    ['svcdns_registry_zones', 2],
    ['svcdns_registry_reloads_total', 0],
    ['svcdns_registry_reload_failures_total', 0],
    ['svcdns_build_info{version="9.9.9",nodejs="' + process.version + '"}', 1],
  ];
  for (const [series, value] of rows) {
    it(`${series} ${value}`, () => expect(sample(text, series), series).to.equal(value));
  }

  it('durations: one query in 8 is timed and counts 8; buckets are cumulative and end at the count', async () => {
    const m = createMetricsRegistry({ version: '1', processMetrics: false });
    const stats = new DnsStats(registry);
    dnsMetrics(m, stats);
    const s = createDnsServer({ registry, log: silentLogger(), observe: queryObserver({ stats }) });
    for (let i = 0; i < 100; i++) await s.handle(query('web.shop.svc.cluster.local', 'A'), 'udp', '127.0.0.1');
    const t = await m.metrics();
    const buckets = t.split('\n').filter((l) => l.startsWith('svcdns_dns_request_duration_seconds_bucket{') && l.includes('zone="cluster.local."')).map((l) => Number(l.split(' ')[1]));
    expect(buckets).to.have.length(21);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]).to.be.at.least(buckets[i - 1]!);
    expect(buckets.at(-1)).to.equal(96); // 12 of 100 timed
    expect(sample(t, 'svcdns_dns_request_duration_seconds_count{zone="cluster.local."}')).to.equal(96);
    expect(sample(t, 'svcdns_dns_request_duration_seconds_sum{zone="cluster.local."}')).to.be.above(0);
  });

  it('process metrics are there (prom-client defaults)', () => {
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_open_fds', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) expect(text).to.match(new RegExp(`^${name} `, 'm'));
  });

  it('a reload counts, a refused reload counts, and the objects follow the live snapshot', async () => {
    const m = createMetricsRegistry({ version: '1', processMetrics: false });
    const reg = await loadRegistry();
    const rm = registryMetrics(m, reg);
    reg.swap((await loadRegistry()).current!);
    rm.reloadFailed();
    const t = await m.metrics();
    expect([sample(t, 'svcdns_registry_reloads_total'), sample(t, 'svcdns_registry_reload_failures_total')]).to.deep.equal([1, 1]);
  });

  it('labels stay bounded: 5000 queries with random names, types and clients make at most zones x 2 x 2 x 13 request series', async () => {
    const m = createMetricsRegistry({ version: '1', processMetrics: false });
    const stats = new DnsStats(registry);
    dnsMetrics(m, stats);
    const s = createDnsServer({ registry, log: silentLogger(), observe: queryObserver({ stats }) });
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 48271) % 2147483647) % n;
    for (let i = 0; i < 5000; i++) {
      const name = `${rand(1e9).toString(36)}.${['svc.cluster.local', 'example.org', 'in-addr.arpa', 'example.test'][rand(4)]}`;
      await s.handle(query(name, 1 + rand(65000)), rand(2) ? 'udp' : 'tcp', rand(2) ? `198.51.100.${rand(250)}` : `2001:db8::${rand(9999).toString(16)}`);
    }
    const t = await m.metrics();
    const series = t.split('\n').filter((l) => l.startsWith('svcdns_dns_requests_total{'));
    expect(series.length).to.be.at.most(stats.zones.length * 2 * 2 * QTYPE_LABELS.length);
    expect(t).to.not.match(/198\.51\.100|2001:db8|example\.org/);
  });
});

describe('metrics: helpers for other modules (values read at scrape time)', () => {
  it('counterFrom and gaugeFrom, with and without labels', async () => {
    const m = createMetricsRegistry({ version: '1', processMetrics: false });
    const cache = { hits: { success: 3, denial: 1 }, misses: 2, entries: 5 };
    counterFrom(m, { name: 'test_cache_hits_total', help: 'hits', labelNames: ['type'], read: () => Object.entries(cache.hits).map(([type, n]) => [{ type }, n] as const) });
    counterFrom(m, { name: 'test_cache_misses_total', help: 'misses', read: () => cache.misses });
    gaugeFrom(m, { name: 'test_cache_entries', help: 'entries', read: () => cache.entries });
    cache.hits.success = 4;
    cache.entries = 6;
    const t = await m.metrics();
    expect([sample(t, 'test_cache_hits_total{type="success"}'), sample(t, 'test_cache_hits_total{type="denial"}'), sample(t, 'test_cache_misses_total'), sample(t, 'test_cache_entries')]).to.deep.equal([4, 1, 2, 6]);
    expect(t).to.match(/# TYPE test_cache_hits_total counter/);
    expect(t).to.match(/# TYPE test_cache_entries gauge/);
  });
});
