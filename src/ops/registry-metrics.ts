import type { Registry } from '../registry/registry.js';
import { counterFrom, gaugeFrom, type MetricsRegistry } from './metrics.js';

/** RegistryMetrics is what reloaders (file watcher, API, etcd) report besides the swaps it sees itself. */
export interface RegistryMetrics {
  /** reloadFailed counts a reload that was refused (the last good snapshot keeps serving). */
  reloadFailed(): void;
}

/**
 * registryMetrics registers the registry's metrics: objects by kind, DNS names, zones and the
 * serial of the live snapshot, reloads (every swap after the first load), failed reloads (those the
 * store counts, `failedReloads`, and those reported with `reloadFailed()`), and the time of the
 * last successful one. Counts are read from the live snapshot when scraped.
 */
export function registryMetrics(metrics: MetricsRegistry, registry: Registry, { failedReloads }: { failedReloads?: () => number } = {}): RegistryMetrics {
  let reloads = 0;
  let failures = 0;
  let lastSuccess = 0;
  registry.onSwap((_next, previous) => {
    if (previous) reloads++;
    lastSuccess = Date.now() / 1000;
  });
  if (registry.current) lastSuccess = Date.now() / 1000;
  gaugeFrom(metrics, {
    name: 'svcdns_registry_objects',
    help: 'Objects in the live registry snapshot, by kind.',
    labelNames: ['kind'],
    read: () => {
      const c = registry.current?.counts;
      return [
        [{ kind: 'Service' }, c?.services ?? 0],
        [{ kind: 'EndpointSlice' }, c?.endpointSlices ?? 0],
        [{ kind: 'Endpoints' }, c?.endpoints ?? 0],
      ] as const;
    },
  });
  gaugeFrom(metrics, { name: 'svcdns_registry_dns_names', help: 'Names with prebuilt DNS answers in the live snapshot.', read: () => registry.current?.counts.names ?? 0 });
  gaugeFrom(metrics, { name: 'svcdns_registry_zones', help: 'Cluster domains served.', read: () => registry.current?.zones.length ?? 0 });
  gaugeFrom(metrics, { name: 'svcdns_registry_serial', help: 'SOA serial of the live snapshot (0 before the first load).', read: () => registry.current?.serial ?? 0 });
  counterFrom(metrics, { name: 'svcdns_registry_reloads_total', help: 'Snapshots swapped in after the first load.', read: () => reloads });
  counterFrom(metrics, {
    name: 'svcdns_registry_reload_failures_total',
    help: 'Reloads refused (a zone file that no longer parses or validates); the last good objects kept serving.',
    read: () => failures + (failedReloads?.() ?? 0),
  });
  gaugeFrom(metrics, {
    name: 'svcdns_registry_last_reload_success_timestamp_seconds',
    help: 'Unix time of the last snapshot swapped in (the first load included).',
    read: () => lastSuccess,
  });
  return {
    reloadFailed() {
      failures++;
    },
  };
}
