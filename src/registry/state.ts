import type { ServiceChange, ZoneChanges, ZoneSource } from '../dns/builder.js';
import type { ObjectKey, StoreEvent, StoredObject } from '../store/types.js';
import type { ServiceView, ZoneView } from './content.js';
import type { EndpointGroup, EndpointSlice, LegacyEndpoints, RegistryObject, Service, ZoneContent } from './model.js';
import type { ZoneSettings } from './settings.js';
import { convertDocument } from './sources/convert.js';

/** ObjectCounts is how many objects of each kind a zone holds. */
export interface ObjectCounts {
  services: number;
  endpointSlices: number;
  endpoints: number;
}

/**
 * ZoneState is one cluster domain's objects, joined and kept up to date change by change: each
 * Service with the EndpointSlices (or, without any, the v1 Endpoints) that back it, the namespaces,
 * and the Services sorted. A batch of changes says which Services it changed and how they were
 * before, which is all the DNS builder needs (src/dns/builder.ts). The sorted list and the
 * namespace set are replaced, never edited, so each snapshot's ZoneView stays as it was.
 */
export class ZoneState implements ZoneSource {
  namespaces: ReadonlySet<string> = new Set();
  private readonly svcs = new NsMap<Service>();
  private readonly slices = new NsMap<EndpointSlice>();
  /** Slices of each Service (by namespace and kubernetes.io/service-name), sorted by slice name. */
  private readonly slicesOf = new NsMap<EndpointSlice | EndpointSlice[]>();
  private readonly legacy = new NsMap<LegacyEndpoints>();
  private readonly namespaceObjects = new Set<string>();
  /** Services per namespace: a namespace exists while it has one (or a Namespace object names it). */
  private readonly perNamespace = new Map<string, number>();
  private readonly views = new NsMap<ServiceView>();
  private sorted: ServiceView[] = [];
  private cachedView: ZoneView | undefined;
  // The batch under way: Services touched (with their view before it) and namespaces touched.
  private touched: Map<string, { namespace: string; name: string; before: ServiceView | undefined }> | undefined;
  private touchedNamespaces = new Set<string>();

  constructor(
    readonly domain: string,
    readonly settings: ZoneSettings,
  ) {}

  /** services lists every Service joined to its endpoints, sorted by namespace, then name. */
  get services(): readonly ServiceView[] {
    return this.sorted;
  }

  /** view gives one Service as it is now. */
  view(namespace: string, name: string): ServiceView | undefined {
    return this.views.get(namespace, name);
  }

  /** zoneView is the zone as env files and the API see it; the same object until the zone changes. */
  zoneView(): ZoneView {
    this.cachedView ??= { settings: this.settings, namespaces: this.namespaces, services: this.sorted };
    return this.cachedView;
  }

  /** counts tells how many objects of each kind the zone holds. */
  counts(): ObjectCounts {
    return { services: this.svcs.size, endpointSlices: this.slices.size, endpoints: this.legacy.size };
  }

  /** load fills an empty zone with objects at once (a full build). */
  load(objects: Iterable<RegistryObject>): void {
    for (const o of objects) this.set(keyOf(o), o);
    this.touchedNamespaces.clear();
    const namespaces = new Set(this.namespaceObjects);
    for (const ns of this.perNamespace.keys()) namespaces.add(ns);
    this.namespaces = namespaces;
    const all: ServiceView[] = [];
    for (const [ns, names] of this.svcs.entries()) {
      for (const [name] of names) {
        const v = this.join(ns, name)!;
        this.views.set(ns, name, v);
        all.push(v);
      }
    }
    this.sorted = all.sort(byName);
    this.cachedView = undefined;
  }

  /** begin starts a batch of changes. */
  begin(): void {
    this.touched = new Map();
    this.touchedNamespaces = new Set();
  }

  /** set records an object's new version (a model), or its deletion (undefined) under `key`. */
  set(key: ObjectKey, model: RegistryObject | undefined): void {
    const { namespace, name } = key;
    if (model && model.kind !== key.kind) model = undefined;
    switch (key.kind) {
      case 'Service': {
        this.touch(namespace, name);
        const had = this.svcs.get(namespace, name) !== undefined;
        if (model?.kind === 'Service') this.svcs.set(namespace, name, model.value);
        else this.svcs.delete(namespace, name);
        const has = model !== undefined;
        if (had !== has) {
          const n = (this.perNamespace.get(namespace) ?? 0) + (has ? 1 : -1);
          if (n > 0) this.perNamespace.set(namespace, n);
          else this.perNamespace.delete(namespace);
          this.touchedNamespaces.add(namespace);
        }
        return;
      }
      case 'EndpointSlice': {
        const old = this.slices.get(namespace, name);
        if (old) this.unlinkSlice(old);
        if (model?.kind === 'EndpointSlice') {
          this.slices.set(namespace, name, model.value);
          this.linkSlice(model.value);
        } else {
          this.slices.delete(namespace, name);
        }
        return;
      }
      case 'Endpoints':
        this.touch(namespace, name);
        if (model?.kind === 'Endpoints') this.legacy.set(namespace, name, model.value);
        else this.legacy.delete(namespace, name);
        return;
      case 'Namespace':
        if (model) this.namespaceObjects.add(name);
        else this.namespaceObjects.delete(name);
        this.touchedNamespaces.add(name);
        return;
    }
  }

  /** end finishes a batch: the Services it changed (before and after) and the namespaces it added or removed. */
  end(index: number): ZoneChanges | undefined {
    const touched = this.touched;
    this.touched = undefined;
    if (!touched) return undefined;
    const services: ServiceChange[] = [];
    for (const { namespace, name, before } of touched.values()) {
      const after = this.join(namespace, name);
      if (after) this.views.set(namespace, name, after);
      else this.views.delete(namespace, name);
      if (before || after) services.push({ ...(before ? { before } : {}), ...(after ? { after } : {}) });
    }
    const added: string[] = [];
    const removed: string[] = [];
    for (const ns of this.touchedNamespaces) {
      const now = this.namespaceObjects.has(ns) || this.perNamespace.has(ns);
      if (now && !this.namespaces.has(ns)) added.push(ns);
      if (!now && this.namespaces.has(ns)) removed.push(ns);
    }
    if (added.length || removed.length) {
      const next = new Set(this.namespaces);
      for (const ns of added) next.add(ns);
      for (const ns of removed) next.delete(ns);
      this.namespaces = next;
    }
    if (services.length) this.resort(services);
    if (!services.length && !added.length && !removed.length) return undefined;
    this.cachedView = undefined;
    return { zone: index, services, namespacesAdded: added, namespacesRemoved: removed };
  }

  private touch(namespace: string, name: string): void {
    const id = `${namespace}/${name}`;
    if (!this.touched || this.touched.has(id)) return;
    this.touched.set(id, { namespace, name, before: this.views.get(namespace, name) });
  }

  private linkSlice(s: EndpointSlice): void {
    if (!s.serviceName || s.addressType === 'FQDN') return;
    this.touch(s.namespace, s.serviceName);
    const cur = this.slicesOf.get(s.namespace, s.serviceName);
    if (!cur) return this.slicesOf.set(s.namespace, s.serviceName, s);
    const list = Array.isArray(cur) ? cur : [cur];
    let i = 0;
    while (i < list.length && list[i]!.name < s.name) i++;
    this.slicesOf.set(s.namespace, s.serviceName, [...list.slice(0, i), s, ...list.slice(i)]);
  }

  private unlinkSlice(s: EndpointSlice): void {
    if (!s.serviceName || s.addressType === 'FQDN') return;
    this.touch(s.namespace, s.serviceName);
    const cur = this.slicesOf.get(s.namespace, s.serviceName);
    if (cur === s) return this.slicesOf.delete(s.namespace, s.serviceName);
    if (!Array.isArray(cur)) return;
    const rest = cur.filter((x) => x !== s);
    this.slicesOf.set(s.namespace, s.serviceName, rest.length === 1 ? rest[0]! : rest);
  }

  // A Service with the endpoint groups that back it: its EndpointSlices when it has any, else its
  // v1 Endpoints (never both: no doubled answers).
  private join(namespace: string, name: string): ServiceView | undefined {
    const service = this.svcs.get(namespace, name);
    if (!service) return undefined;
    const slices = this.slicesOf.get(namespace, name);
    const groups: EndpointGroup[] = slices ? (Array.isArray(slices) ? slices.map((s) => s.group) : [slices.group]) : (this.legacy.get(namespace, name)?.groups ?? []);
    return { service, groups };
  }

  // The sorted list for the new state: patched in a copy for a few changes, sorted again for many.
  private resort(changes: readonly ServiceChange[]): void {
    if (changes.length * 8 > this.sorted.length) {
      const all: ServiceView[] = [];
      for (const [, names] of this.views.entries()) for (const v of names.values()) all.push(v);
      this.sorted = all.sort(byName);
      return;
    }
    const list = this.sorted.slice();
    for (const { before, after } of changes) {
      const s = (after ?? before)!.service;
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        const m = list[mid]!.service;
        if ((m.namespace === s.namespace ? cmp(m.name, s.name) : cmp(m.namespace, s.namespace)) < 0) lo = mid + 1;
        else hi = mid;
      }
      const found = lo < list.length && list[lo]!.service.namespace === s.namespace && list[lo]!.service.name === s.name;
      if (after && found) list[lo] = after;
      else if (after) list.splice(lo, 0, after);
      else if (found) list.splice(lo, 1);
    }
    this.sorted = list;
  }
}

/**
 * RegistryState is every zone of a store, joined (ZoneState), in the store's zone order. It
 * converts objects a store did not validate (etcd) once per change, never per snapshot.
 */
export class RegistryState {
  private readonly byDomain: Map<string, ZoneState>;

  constructor(readonly zones: readonly ZoneState[]) {
    this.byDomain = new Map(zones.map((z) => [z.domain, z]));
  }

  /** fromContent builds the state of zones given as content (files read by `check`, `env`, tests). */
  static fromContent(inputs: ReadonlyArray<{ settings: ZoneSettings; content: ZoneContent }>): RegistryState {
    return new RegistryState(
      inputs.map(({ settings, content }) => {
        const z = new ZoneState(settings.domain, settings);
        z.load(contentObjects(content));
        return z;
      }),
    );
  }

  /** fromObjects builds the state of zones from a store's objects (any order). */
  static fromObjects(defs: ReadonlyArray<{ domain: string; settings: ZoneSettings }>, objects: Iterable<StoredObject>): RegistryState {
    const byZone = new Map<string, RegistryObject[]>(defs.map((d) => [d.domain, []]));
    const settings = new Map(defs.map((d) => [d.domain, d.settings]));
    for (const o of objects) {
      const list = byZone.get(o.zone);
      const m = list && modelOf(o, settings.get(o.zone)!.nodePortRange);
      if (m && m.kind === o.key.kind) list!.push(m);
    }
    return new RegistryState(
      defs.map((d) => {
        const z = new ZoneState(d.domain, d.settings);
        z.load(byZone.get(d.domain)!);
        return z;
      }),
    );
  }

  /** counts sums the objects of every zone. */
  counts(): ObjectCounts {
    const out = { services: 0, endpointSlices: 0, endpoints: 0 };
    for (const z of this.zones) {
      const c = z.counts();
      out.services += c.services;
      out.endpointSlices += c.endpointSlices;
      out.endpoints += c.endpoints;
    }
    return out;
  }

  /**
   * apply records a batch of store events and says what it changed in each zone; undefined (and
   * nothing recorded) when an event belongs to a zone this state does not know: build in full.
   */
  apply(events: readonly StoreEvent[]): ZoneChanges[] | undefined {
    for (const e of events) if (!this.byDomain.has(e.object.zone)) return undefined;
    for (const z of this.zones) z.begin();
    for (const e of events) {
      const z = this.byDomain.get(e.object.zone)!;
      z.set(e.object.key, e.type === 'DELETED' ? undefined : modelOf(e.object, z.settings.nodePortRange));
    }
    const out: ZoneChanges[] = [];
    this.zones.forEach((z, i) => {
      const c = z.end(i);
      if (c) out.push(c);
    });
    return out;
  }
}

/** modelOf gives a stored object's model: the store's, or (etcd) converted here. */
export function modelOf(o: StoredObject, nodePortRange: readonly [number, number]): RegistryObject | undefined {
  if (o.model) return o.model;
  const converted = convertDocument(o.object, o.origin, { nodePortRange });
  return converted.objects[0]?.model;
}

function* contentObjects(c: ZoneContent): Iterable<RegistryObject> {
  for (const value of c.services) yield { kind: 'Service', value };
  for (const value of c.slices) yield { kind: 'EndpointSlice', value };
  for (const value of c.endpoints) yield { kind: 'Endpoints', value };
  for (const value of c.namespaces) yield { kind: 'Namespace', value };
}

function keyOf(o: RegistryObject): ObjectKey {
  return o.kind === 'Namespace' ? { kind: o.kind, namespace: '', name: o.value.name } : { kind: o.kind, namespace: o.value.namespace, name: o.value.name };
}

const byName = (a: ServiceView, b: ServiceView) =>
  a.service.namespace === b.service.namespace ? cmp(a.service.name, b.service.name) : cmp(a.service.namespace, b.service.namespace);
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** NsMap is a map by namespace and name, without a composite string key per entry. */
class NsMap<T> {
  private readonly byNs = new Map<string, Map<string, T>>();
  size = 0;

  get(namespace: string, name: string): T | undefined {
    return this.byNs.get(namespace)?.get(name);
  }

  set(namespace: string, name: string, value: T): void {
    let m = this.byNs.get(namespace);
    if (!m) this.byNs.set(namespace, (m = new Map()));
    const before = m.size;
    m.set(name, value);
    this.size += m.size - before;
  }

  delete(namespace: string, name: string): void {
    const m = this.byNs.get(namespace);
    if (!m || !m.delete(name)) return;
    this.size--;
    if (m.size === 0) this.byNs.delete(namespace);
  }

  entries(): IterableIterator<[string, Map<string, T>]> {
    return this.byNs.entries();
  }
}
