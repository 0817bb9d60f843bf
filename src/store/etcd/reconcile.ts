import type { ZoneSettings } from '../../registry/settings.js';
import type { Problem } from '../../result.js';
import type { ObjectCache } from '../cache.js';
import type { StoreEvent, StoredObject } from '../types.js';
import { decodeObject, decodeSettings } from './decode.js';
import type { KeyLayout } from './keys.js';
import type { Listing } from './list.js';

/** ZoneState is a zone's settings and the text they came from. */
export interface ZoneState {
  settings: ZoneSettings;
  /** The key's value as stored, to tell a settings change from a rewrite of the same text. */
  raw: string;
}

/** Report is problems to log once (per `id`: a key and its revision), with what they lead to. */
export interface Report {
  problems: Problem[];
  id: string;
  consequence: string;
}

/** Reconciled is what a listing means for the cache: zones, objects to serve, problems. */
export interface Reconciled {
  zones: Map<string, ZoneState>;
  objects: StoredObject[];
  problems: Problem[];
  reports: Report[];
  /** Object values refused. */
  invalid: number;
  /** A zone came, went or has new settings. */
  zonesChanged: boolean;
}

/**
 * reconcile turns a listing into the zones and objects to serve, given what the cache serves now:
 * an object whose revision the cache already has is kept as it is (not parsed again) unless its
 * zone's settings changed; an invalid value is a problem, and its cached version, if any, keeps
 * serving; objects of a zone without a settings key are not served.
 */
export function reconcile(listing: Listing, keys: KeyLayout, cache: ObjectCache, previousZones: ReadonlyMap<string, ZoneState>): Reconciled {
  const out: Reconciled = { zones: new Map(), objects: [], problems: [], reports: [], invalid: 0, zonesChanged: false };
  const objectKvs = [];
  for (const kv of listing.kvs) {
    const parsed = keys.parse(kv.key);
    if (!parsed) continue;
    if (parsed.type === 'object') {
      objectKvs.push({ kv, parsed });
      continue;
    }
    const raw = kv.value.toString('utf8');
    const previous = previousZones.get(parsed.zone);
    if (previous?.raw === raw) {
      out.zones.set(parsed.zone, previous);
      continue;
    }
    const decoded = decodeSettings(kv.key, parsed.zone, kv.value);
    if (decoded.problems.length) {
      out.problems.push(...decoded.problems);
      out.reports.push({ problems: decoded.problems, id: `${kv.key}@${kv.modRevision}`, consequence: previous ? 'zone settings refused; the previous settings stay in force' : 'zone served with the default settings' });
    }
    out.zones.set(parsed.zone, decoded.problems.length && previous ? previous : { settings: decoded.settings, raw });
  }
  const changed = new Set([...out.zones].filter(([d, z]) => previousZones.get(d) !== z).map(([d]) => d));
  out.zonesChanged = changed.size > 0 || out.zones.size !== previousZones.size;
  const orphans = new Map<string, number>();
  for (const { kv, parsed } of objectKvs) {
    const zone = out.zones.get(parsed.zone);
    if (!zone) {
      orphans.set(parsed.zone, (orphans.get(parsed.zone) ?? 0) + 1);
      continue;
    }
    const cached = cache.get(parsed.zone, parsed.key.kind, parsed.key.namespace, parsed.key.name);
    const unchanged = cached !== undefined && cached.revision === kv.modRevision;
    if (unchanged && !changed.has(parsed.zone)) {
      out.objects.push(cached); // unchanged: no need to parse and validate it again
      continue;
    }
    const decoded = decodeObject(kv, parsed.zone, parsed.key, zone.settings);
    if (decoded.ok) {
      // Re-validated under new zone settings but unchanged: keep the cached object (no event).
      out.objects.push(unchanged ? cached : decoded.value);
      continue;
    }
    out.invalid++;
    out.problems.push(...decoded.error);
    out.reports.push({ problems: decoded.error, id: `${kv.key}@${kv.modRevision}`, consequence: cached ? 'not served; its previous version keeps serving' : 'not served' });
    if (cached) out.objects.push(cached);
  }
  for (const [zone, n] of orphans) {
    const p: Problem = { code: 'ERR_ZONE_READ', file: keys.zoneObjects(zone), message: `${n} object(s) are not served: zone ${zone} has no settings key ${keys.zone(zone)} (create it, e.g. etcdctl put ${keys.zone(zone)} '{}')` };
    out.problems.push(p);
    out.reports.push({ problems: [p], id: `orphans ${zone} ${n}`, consequence: '' });
  }
  return out;
}

/** diffEvents gives the events that turn the cache into `objects` (a listing at `revision`), in revision order. */
export function diffEvents(cache: ObjectCache, objects: readonly StoredObject[], revision: number): StoreEvent[] {
  const events: StoreEvent[] = [];
  const seen = new Set<StoredObject>();
  for (const o of objects) {
    const cached = cache.get(o.zone, o.key.kind, o.key.namespace, o.key.name);
    if (cached) seen.add(cached);
    if (cached !== o) events.push({ type: cached ? 'MODIFIED' : 'ADDED', object: o });
  }
  for (const gone of cache.list()) if (!seen.has(gone)) events.push({ type: 'DELETED', object: deletedAt(gone, revision) });
  return events.sort((a, b) => a.object.revision - b.object.revision);
}

/** deletedAt is an object as a DELETED event reports it: its last state, at the deletion's revision. */
export function deletedAt(o: StoredObject, revision: number): StoredObject {
  return { ...o, revision, object: { ...o.object, metadata: { ...o.object.metadata, resourceVersion: String(revision) } } };
}
