import { flat } from '../flat.js';
import { type Kind, type StoreEvent, type StoredObject } from './types.js';

/** WatchListener hears events in revision order. */
export type WatchListener = (event: StoreEvent) => void;

/** ChangeListener hears every batch of changes applied to the cache. */
export type ChangeListener = (events: readonly StoreEvent[]) => void;

/**
 * ObjectCache holds the current objects of a store with a revision counter and a window of recent
 * events, like the Kubernetes API server's watch cache: list and get read it, a watch from a
 * revision replays the events after it and then follows live ones. Every store (files, etcd) feeds
 * it; the registry builds its snapshots from it.
 */
export class ObjectCache {
  private readonly objects = new Map<string, StoredObject>();
  /** Namespaced objects per zone and namespace, so that "does this namespace exist" is a lookup. */
  private readonly perNamespace = new Map<string, number>();
  private readonly history: StoreEvent[] = [];
  private readonly watchers = new Set<WatchListener>();
  private readonly changeListeners: ChangeListener[] = [];
  private rev = 0;

  /** historySize: how many recent events a watch can resume from. */
  constructor(private readonly historySize = 10_000) {}

  /** revision is the revision of the last change (the resourceVersion of a list). */
  get revision(): number {
    return this.rev;
  }

  /** oldestRevision is the oldest revision a watch can still start after. */
  get oldestRevision(): number {
    return this.history.length ? this.history[0]!.object.revision - 1 : this.rev;
  }

  /** get returns one object of a zone. */
  get(zone: string, kind: Kind, namespace: string, name: string): StoredObject | undefined {
    return this.objects.get(`${zone} ${kind}/${namespace}/${name}`);
  }

  /** list returns the objects of a kind (in one namespace, or all), sorted by namespace and name. */
  list(kind?: Kind, namespace?: string, zone?: string): StoredObject[] {
    const out: StoredObject[] = [];
    for (const o of this.objects.values()) {
      if ((kind === undefined || o.key.kind === kind) && (namespace === undefined || o.key.namespace === namespace) && (zone === undefined || o.zone === zone)) out.push(o);
    }
    return out.sort((a, b) => cmp(a.key.kind, b.key.kind) || cmp(a.key.namespace, b.key.namespace) || cmp(a.key.name, b.key.name));
  }

  /** size is the number of objects. */
  get size(): number {
    return this.objects.size;
  }

  /** scan iterates over every object, in no particular order (no copy, no sort: for indexes built from the cache). */
  scan(): IterableIterator<StoredObject> {
    return this.objects.values();
  }

  /** namespaceSize is the number of namespaced objects (Services, EndpointSlices, Endpoints) a zone has in a namespace. */
  namespaceSize(zone: string, namespace: string): number {
    return this.perNamespace.get(`${zone} ${namespace}`) ?? 0;
  }

  /**
   * apply records a batch of changes. Each event's object carries its revision (a store assigns
   * them, e.g. with nextRevision()); revisions must increase.
   */
  apply(events: readonly StoreEvent[]): void {
    if (events.length === 0) return;
    for (const e of events) {
      const id = cacheId(e.object);
      const had = this.objects.has(id);
      if (e.type === 'DELETED') this.objects.delete(id);
      else this.objects.set(id, e.object);
      if (had !== this.objects.has(id)) this.count(e.object, had ? -1 : 1);
      this.rev = Math.max(this.rev, e.object.revision);
      this.history.push(e);
    }
    if (this.history.length > this.historySize) this.history.splice(0, this.history.length - this.historySize);
    for (const e of events) for (const w of this.watchers) w(e);
    for (const l of this.changeListeners) l(events);
  }

  /**
   * reset replaces every object at once (an initial list or a relist), without history: watches
   * from before it are expired.
   */
  reset(objects: readonly StoredObject[], revision: number): void {
    this.objects.clear();
    this.perNamespace.clear();
    for (const o of objects) {
      const id = cacheId(o);
      if (!this.objects.has(id)) this.count(o, 1);
      this.objects.set(id, o);
    }
    this.history.length = 0;
    this.rev = Math.max(this.rev, revision);
    for (const l of this.changeListeners) l([]);
  }

  /** notify tells change listeners that something besides objects changed (e.g. zone settings). */
  notify(): void {
    for (const l of this.changeListeners) l([]);
  }

  /** nextRevision reserves the next revision number (for stores that number changes themselves). */
  nextRevision(): number {
    return ++this.rev;
  }

  /** startAt sets the revision counter (e.g. from the time, so it grows across restarts). */
  startAt(revision: number): void {
    this.rev = Math.max(this.rev, revision);
  }

  /**
   * watch replays the events after `fromRevision` and then follows live ones. It returns a stop
   * function, or 'expired' when the revision is older than the history kept (HTTP 410 Gone).
   */
  watch(fromRevision: number, listener: WatchListener): (() => void) | 'expired' {
    if (fromRevision < this.oldestRevision) return 'expired';
    for (const e of this.history) if (e.object.revision > fromRevision) listener(e);
    this.watchers.add(listener);
    return () => this.watchers.delete(listener);
  }

  private count(o: StoredObject, delta: number): void {
    if (o.key.kind === 'Namespace') return;
    const k = flat(`${o.zone} ${o.key.namespace}`);
    const n = (this.perNamespace.get(k) ?? 0) + delta;
    if (n > 0) this.perNamespace.set(k, n);
    else this.perNamespace.delete(k);
  }

  /** onChange registers a listener for every applied batch. */
  onChange(listener: ChangeListener): void {
    this.changeListeners.push(listener);
  }
}

// Objects of different zones may share kind, namespace and name.
const cacheId = (o: StoredObject) => flat(`${o.zone} ${o.key.kind}/${o.key.namespace}/${o.key.name}`);

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
