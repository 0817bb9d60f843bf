import { DnsBuilder } from '../dns/builder.js';
import type { Logger } from '../log.js';
import type { ObjectStore, StoreEvent, ZoneDefinition } from '../store/types.js';
import type { Registry } from './registry.js';
import { nextSerial, snapshotOf } from './snapshot.js';
import { RegistryState } from './state.js';

/** RuntimeStats count snapshot builds, for metrics and tests. */
export interface RuntimeStats {
  /** Every snapshot swapped in, full or incremental. */
  builds: number;
  /** Full builds (start, zone settings changed, zones added or removed, or a fallback). */
  fullBuilds: number;
  lastBuildMs: number;
  /** Store events applied by the last build (0 for a full build). */
  lastEvents: number;
}

/**
 * followStore keeps a registry in step with a store: every batch of changes in the store's cache
 * schedules one build (changes that arrive while one runs coalesce into the next), and each build
 * is swapped in whole. A build is incremental (only the Services the changes touch are rebuilt,
 * in milliseconds whatever the registry's size) unless the zones or their settings changed, which
 * rebuilds everything.
 */
export function followStore({ store, registry, log }: { store: ObjectStore; registry: Registry; log: Logger }): { stats: RuntimeStats; rebuild: () => void } {
  const regLog = log.child({ module: 'registry' });
  const stats: RuntimeStats = { builds: 0, fullBuilds: 0, lastBuildMs: 0, lastEvents: 0 };
  let scheduled = false;
  let full = true;
  let pending: StoreEvent[] = [];
  let current: { state: RegistryState; builder: DnsBuilder; zones: ZoneDefinition[] } | undefined;
  let gen = 0;

  const fullBuild = () => {
    const zones = store.zones();
    const state = RegistryState.fromObjects(zones, store.cache.scan());
    const builder = new DnsBuilder(state.zones, ++gen);
    current = { state, builder, zones };
    stats.fullBuilds++;
    stats.lastEvents = 0;
    return current;
  };

  const rebuild = () => {
    scheduled = false;
    const started = performance.now();
    const events = pending;
    pending = [];
    let c = current;
    try {
      if (!c || full || !c.builder.incremental || !sameZones(c.zones, store.zones())) c = fullBuild();
      else {
        const changes = c.state.apply(events);
        if (!changes) c = fullBuild();
        else {
          c.builder.apply(changes, ++gen);
          stats.lastEvents = events.length;
        }
      }
    } catch (err) {
      // A bug in the incremental path must not leave DNS behind: build everything from the cache.
      regLog.error({ err }, 'incremental snapshot build failed; building in full');
      c = fullBuild();
    }
    full = false;
    const snapshot = snapshotOf(c.state, c.builder, nextSerial(registry.current?.serial));
    registry.swap(snapshot);
    stats.builds++;
    stats.lastBuildMs = performance.now() - started;
    regLog.debug({ serial: snapshot.serial, ...snapshot.counts, events: stats.lastEvents, ms: Math.round(stats.lastBuildMs * 10) / 10 }, 'snapshot built');
  };

  store.cache.onChange((events) => {
    if (events.length === 0) full = true;
    else for (const e of events) pending.push(e);
    if (scheduled) return;
    scheduled = true;
    setImmediate(rebuild);
  });
  return { stats, rebuild };
}

// The zones and their settings are what they were: same domains, same settings objects (stores
// keep the settings object of a zone until its settings change).
function sameZones(a: readonly ZoneDefinition[], b: readonly ZoneDefinition[]): boolean {
  return a.length === b.length && a.every((z, i) => z.domain === b[i]!.domain && (z.settings === b[i]!.settings || JSON.stringify(z.settings) === JSON.stringify(b[i]!.settings)));
}
