import type { EtcdStore } from '../store/etcd/store.js';
import { counterFrom, gaugeFrom, type MetricsRegistry } from './metrics.js';

/** etcdMetrics registers the etcd store's metrics (src/store/etcd/README.md), read from its stats and status. */
export function etcdMetrics(registry: MetricsRegistry, store: Pick<EtcdStore, 'stats' | 'status'>): void {
  const s = store.stats;
  gaugeFrom(registry, { name: 'svcdns_etcd_synced', help: '1 while the watch follows etcd, else 0.', read: () => (store.status().synced ? 1 : 0) });
  gaugeFrom(registry, { name: 'svcdns_etcd_last_sync_timestamp_seconds', help: 'Unix time of the last list (0 before the first).', read: () => s.lastSyncAt / 1000 });
  counterFrom(registry, {
    name: 'svcdns_etcd_lists_total',
    help: 'Successful lists of the registry prefix, by reason.',
    labelNames: ['reason'],
    read: () => Object.entries(s.lists).map(([reason, n]) => [{ reason }, n] as const),
  });
  counterFrom(registry, { name: 'svcdns_etcd_list_failures_total', help: 'Lists that failed (and were retried).', read: () => s.failedLists });
  gaugeFrom(registry, { name: 'svcdns_etcd_last_list_duration_seconds', help: 'Duration of the last successful list.', read: () => s.lastListMs / 1000 });
  counterFrom(registry, { name: 'svcdns_etcd_watch_cancels_total', help: 'Watches etcd cancelled (compaction), each followed by a relist.', read: () => s.watchCancels });
  counterFrom(registry, { name: 'svcdns_etcd_outages_total', help: 'Times etcd became unreachable.', read: () => s.outages });
  counterFrom(registry, { name: 'svcdns_etcd_watch_events_total', help: 'Watch events applied.', read: () => s.watchEvents });
  counterFrom(registry, { name: 'svcdns_etcd_invalid_objects_total', help: 'Object values refused as invalid, at lists and in watch events.', read: () => s.invalidObjects });
  counterFrom(registry, { name: 'svcdns_etcd_write_wait_timeouts_total', help: 'Writes whose change did not come back through the watch in time.', read: () => s.writeWaitTimeouts });
  counterFrom(registry, { name: 'svcdns_etcd_allocation_conflicts_total', help: 'Service writes refused because another replica had just reserved the same IP or port.', read: () => s.allocationConflicts });
}
