import type { Logger } from '../log.js';
import type { ObjectStore, StoredObject } from '../store/types.js';
import { convertDocument } from './sources/convert.js';
import { collectContent } from './content.js';
import type { RegistryObject } from './model.js';
import type { Registry } from './registry.js';
import { buildSnapshot, nextSerial } from './snapshot.js';

/** RuntimeStats count snapshot builds, for metrics and tests. */
export interface RuntimeStats {
  builds: number;
  lastBuildMs: number;
}

/**
 * followStore keeps a registry in step with a store: every batch of changes in the store's cache
 * schedules one rebuild (changes that arrive while a build runs coalesce into the next one),
 * and each build is swapped in whole.
 */
export function followStore({ store, registry, log }: { store: ObjectStore; registry: Registry; log: Logger }): { stats: RuntimeStats; rebuild: () => void } {
  const regLog = log.child({ module: 'registry' });
  const stats: RuntimeStats = { builds: 0, lastBuildMs: 0 };
  let scheduled = false;
  const rebuild = () => {
    scheduled = false;
    const started = performance.now();
    const zones = store.zones().map((z) => {
      const models = store.cache.list(undefined, undefined, z.domain).map((o) => modelOf(o, z.settings.nodePortRange));
      const { content } = collectContent(models.filter((m): m is RegistryObject => m !== undefined));
      return { settings: z.settings, content };
    });
    const snapshot = buildSnapshot(zones, nextSerial(registry.current?.serial));
    registry.swap(snapshot);
    stats.builds++;
    stats.lastBuildMs = performance.now() - started;
    regLog.debug({ serial: snapshot.serial, ...snapshot.counts, ms: Math.round(stats.lastBuildMs) }, 'snapshot built');
  };
  store.cache.onChange(() => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(rebuild);
  });
  return { stats, rebuild };
}

// Stores that validated an object keep its model; others (etcd) are converted here once more.
function modelOf(o: StoredObject, nodePortRange: readonly [number, number]): RegistryObject | undefined {
  if (o.model) return o.model;
  const converted = convertDocument(o.object, o.origin, { nodePortRange });
  return converted.objects[0]?.model;
}
