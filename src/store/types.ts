import type { RegistryObject } from '../registry/model.js';
import type { Origin } from '../registry/model.js';
import type { ObjectCache } from './cache.js';
import type { ZoneSettings } from '../registry/settings.js';
import type { Problem, Result } from '../result.js';

/** The kinds the registry stores. */
export type Kind = 'Service' | 'EndpointSlice' | 'Endpoints' | 'Namespace';

/** ObjectKey names an object: kind, namespace ('' for a Namespace) and name. */
export interface ObjectKey {
  kind: Kind;
  namespace: string;
  name: string;
}

/** KubeObject is a Kubernetes object as JSON: apiVersion, kind, metadata and whatever else it has. */
export type KubeObject = Record<string, unknown> & { apiVersion: string; kind: string; metadata: Record<string, unknown> };

/**
 * StoredObject is one object in a store: the full object as the API shows it (metadata carries
 * uid, resourceVersion and creationTimestamp), the revision it last changed at, the zone it
 * belongs to and where it came from.
 */
export interface StoredObject {
  key: ObjectKey;
  zone: string;
  object: KubeObject;
  /** The store revision at which this object last changed (Kubernetes' resourceVersion). */
  revision: number;
  origin: Origin;
  /** The validated model of the object, when whoever stored it already converted it. */
  model?: RegistryObject;
}

/** StoreEvent is one change, as a Kubernetes watch reports it. */
export interface StoreEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  /** The object after the change (before it, for DELETED), with the event's revision. */
  object: StoredObject;
}

/** StoreError is why a write was refused, in Kubernetes' own reasons. */
export interface StoreError {
  reason: 'AlreadyExists' | 'NotFound' | 'Conflict' | 'Invalid' | 'ServiceUnavailable' | 'InternalError';
  message: string;
  /**
   * Set when a Service's cluster IPs or node ports are held by another Service that the cache
   * did not show yet (a store shared by replicas): catch up with sync() and allocate again.
   */
  allocation?: { ips: string[]; ports: number[] };
}

/** keyString renders a key as kind/namespace/name (kind//name for a Namespace). */
export function keyString(k: ObjectKey): string {
  return `${k.kind}/${k.namespace}/${k.name}`;
}

/** keyOfObject reads the key of a Kubernetes object; null when it lacks kind or name. */
export function keyOfObject(o: KubeObject): ObjectKey | null {
  const kind = o.kind;
  const name = o.metadata?.name;
  if (kind !== 'Service' && kind !== 'EndpointSlice' && kind !== 'Endpoints' && kind !== 'Namespace') return null;
  if (typeof name !== 'string') return null;
  const ns = o.metadata?.namespace;
  return { kind, name, namespace: kind === 'Namespace' ? '' : typeof ns === 'string' && ns ? ns : 'default' };
}

/** ZoneDefinition is what a store knows about a zone besides its objects: its settings. */
export interface ZoneDefinition {
  domain: string;
  settings: ZoneSettings;
}

/** StoreStatus is how in step a store is with where the registry is kept, for /ready and metrics. */
export interface StoreStatus {
  /** The store has listed everything once: its cache holds a whole registry. */
  loaded: boolean;
  /** The store follows changes right now (false while etcd is unreachable or being re-listed). */
  synced: boolean;
  /** One line for /ready and logs, e.g. "etcd: watching /svcdns/ at revision 42". */
  detail: string;
}

/**
 * ObjectStore is where the registry is kept: the zones/ folder (files) or etcd. It fills an
 * ObjectCache, follows changes made elsewhere (files edited, other replicas), and takes writes
 * from the API with compare-and-swap on the revision.
 */
export interface ObjectStore {
  readonly cache: ObjectCache;
  /** The zones the store serves, with their settings. */
  zones(): ZoneDefinition[];
  /** start lists everything, then follows changes; the problems found while listing come back. */
  start(): Promise<Problem[]>;
  /** create stores a new object; AlreadyExists when its key is taken. */
  create(zone: string, object: KubeObject): Promise<Result<StoredObject, StoreError>>;
  /** update replaces an object; Conflict when `expectedRevision` is given and is not current. */
  update(zone: string, object: KubeObject, expectedRevision?: number): Promise<Result<StoredObject, StoreError>>;
  /** delete removes an object; Conflict when `expectedRevision` is given and is not current. */
  delete(zone: string, key: ObjectKey, expectedRevision?: number): Promise<Result<StoredObject, StoreError>>;
  /** reload reads everything again, changed or not (SIGHUP; a relist for etcd). */
  reload(): Promise<void>;
  close(): Promise<void>;
  /** status tells whether the store is in step; a store without it is always synced (files). */
  status?(): StoreStatus;
  /**
   * sync resolves once the cache holds every change committed before the call, for a store that
   * others write too (etcd replicas): a write refused because the cache was behind can then be
   * prepared again. A store without it is its only writer (files).
   */
  sync?(): Promise<void>;
}
