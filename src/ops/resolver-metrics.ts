import type { AutopathStats } from '../dns/handlers/autopath/index.js';
import type { CacheStats } from '../dns/handlers/cache/index.js';
import type { ForwardStats } from '../dns/handlers/forward/stats.js';
import { counterFrom, gaugeFrom, type MetricsRegistry, type Sample } from './metrics.js';

/**
 * resolverMetrics registers the forwarding chain's metrics, read from the counters the cache,
 * forward and autopath handlers keep, under CoreDNS's names (coredns_cache_*, coredns_forward_*)
 * with the svcdns_ prefix. `to` is a configured upstream ("192.0.2.53:53"): a bounded set.
 */
export function resolverMetrics(registry: MetricsRegistry, stats: { cache?: CacheStats; forward?: ForwardStats; autopath?: AutopathStats }): void {
  const { cache, forward, autopath } = stats;
  if (cache) {
    counterFrom(registry, {
      name: 'svcdns_cache_hits_total',
      help: 'Forwarded answers served from the cache: success, or denial (NXDOMAIN/NODATA).',
      labelNames: ['type'],
      read: () => [[{ type: 'success' }, cache.hits], [{ type: 'denial' }, cache.denialHits]] as const,
    });
    counterFrom(registry, { name: 'svcdns_cache_misses_total', help: 'Forwarded queries the cache could not answer.', read: () => cache.misses });
    counterFrom(registry, { name: 'svcdns_cache_inserts_total', help: 'Answers stored in the cache.', read: () => cache.inserts });
    counterFrom(registry, { name: 'svcdns_cache_skipped_total', help: 'Answers not stored (uncacheable, or a name the registry owns).', read: () => cache.skipped });
    gaugeFrom(registry, { name: 'svcdns_cache_entries', help: 'Answers in the cache.', read: () => cache.entries() });
  }
  if (forward) {
    const byUpstream = (m: ReadonlyMap<string, number>) => [...m].map(([to, n]) => [{ to }, n] as const);
    counterFrom(registry, { name: 'svcdns_forward_requests_total', help: 'Queries sent to each upstream.', labelNames: ['to'], read: () => byUpstream(forward.requests) });
    counterFrom(registry, {
      name: 'svcdns_forward_responses_total',
      help: 'What each upstream did: an rcode, or timeout, network, malformed.',
      labelNames: ['to', 'rcode'],
      read: function* (): Iterable<Sample<'to' | 'rcode'>> {
        for (const [to, m] of forward.responses) for (const [rcode, n] of m) yield [{ to, rcode }, n];
      },
    });
    counterFrom(registry, { name: 'svcdns_forward_healthcheck_failures_total', help: 'Failed health checks per upstream.', labelNames: ['to'], read: () => byUpstream(forward.healthcheckFailures) });
    counterFrom(registry, { name: 'svcdns_forward_servfail_total', help: 'SERVFAIL answered because no upstream gave a usable answer in time.', read: () => forward.servfail });
    counterFrom(registry, {
      name: 'svcdns_forward_refused_total',
      help: 'Forwarded queries refused: acl (client not allowed recursion) or busy (--max-concurrent reached).',
      labelNames: ['reason'],
      read: () => [[{ reason: 'acl' }, forward.refusedAcl], [{ reason: 'busy' }, forward.refusedBusy]] as const,
    });
    counterFrom(registry, { name: 'svcdns_forward_coalesced_total', help: 'Queries that joined an identical one already under way.', read: () => forward.coalesced });
    counterFrom(registry, { name: 'svcdns_forward_tcp_total', help: 'Answers fetched over TCP after a truncated UDP answer.', read: () => forward.tcp });
    counterFrom(registry, { name: 'svcdns_forward_ignored_total', help: 'Datagrams from an upstream that did not answer the query.', read: () => forward.ignored });
  }
  if (autopath) {
    counterFrom(registry, {
      name: 'svcdns_autopath_walks_total',
      help: 'Search-list walks made server-side, by how they ended: answered, nxdomain (everywhere), stopped.',
      labelNames: ['result'],
      read: () => [[{ result: 'answered' }, autopath.answered], [{ result: 'nxdomain' }, autopath.allNxdomain], [{ result: 'stopped' }, autopath.stopped]] as const,
    });
    counterFrom(registry, {
      name: 'svcdns_autopath_skipped_total',
      help: 'First search-list queries left to the client, by reason.',
      labelNames: ['reason'],
      read: () => [...autopath.skipped].map(([reason, n]) => [{ reason }, n] as const),
    });
  }
}
