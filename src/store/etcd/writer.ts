import type { Etcd3, IKeyValue, ITxnResponse } from 'etcd3';
import { allocationsOf, IP_ALLOCATED, PORT_ALLOCATED } from '../../api/allocate.js';
import { defaultSettings, type ZoneSettings } from '../../registry/settings.js';
import { fail, formatProblem, ok, type Problem, type Result } from '../../result.js';
import type { ObjectCache } from '../cache.js';
import { decorate, persistable } from '../decorate.js';
import { alreadyExists, conflict, notFound } from '../errors.js';
import { keyOfObject, type KubeObject, type ObjectKey, type StoreError, type StoredObject } from '../types.js';
import { decodeObject, storedObject, type Kv } from './decode.js';
import type { KeyLayout } from './keys.js';

/** WriterContext is what the writer needs from its store. */
export interface WriterContext {
  client: Etcd3;
  keys: KeyLayout;
  cache: ObjectCache;
  /** The settings of a zone that has a settings key; undefined for an unknown zone. */
  zone(domain: string): ZoneSettings | undefined;
  /** Resolves once the cache has applied `revision` (true), or after a timeout (false). */
  waitFor(revision: number): Promise<boolean>;
  /** Counts a write that lost a cluster IP or node port to another Service. */
  onAllocationConflict?(): void;
}

/** How often a write re-reads and retries after a concurrent write slipped in. */
const ATTEMPTS = 5;

/** The object a write replaces or deletes: its mod revision and content. */
interface Current {
  revision: number;
  object: Record<string, unknown>;
}

/** A reservation: the key that says which Service holds a cluster IP or node port. */
interface Reservation {
  key: string;
  field: 'spec.clusterIPs' | 'spec.ports[].nodePort';
  value: string;
}

/** How a reservation key must be found for the write to take it. */
type Claim = { expect: 'absent' } | { expect: 'ours' } | { expect: 'mod'; mod: number };

/**
 * EtcdWriter turns store writes into etcd transactions that compare and swap on the key:
 * create only when the key's create revision is 0 (absent), update and delete only when its mod
 * revision is the one the caller read (Kubernetes' resourceVersion precondition). Each write
 * returns once the watch has brought its change into the cache, so a client that writes and then
 * reads or watches from the returned resourceVersion sees its own write, in revision order.
 *
 * A Service's cluster IPs and node ports are reserved in the same transaction:
 * <prefix>/allocations/<zone>/clusterip/<ip> and .../nodeport/<port>, valued <namespace>/<name>.
 * Two replicas that pick the same address at the same moment cannot both commit: the second
 * gets `Invalid` with `allocation` set (the API then catches its cache up and allocates again).
 * Released values are un-reserved in the same transaction. A reservation whose Service is gone
 * or no longer holds the value (edited by hand) is stale and taken over.
 */
export class EtcdWriter {
  constructor(private readonly ctx: WriterContext) {}

  /** create stores a new object; AlreadyExists when its key is taken. */
  async create(zone: string, object: KubeObject): Promise<Result<StoredObject, StoreError>> {
    const target = this.target(zone, object);
    if (!target.ok) return target;
    const { key, etcdKey, settings } = target.value;
    const value = JSON.stringify(persistable(decorate(object, key.namespace, 0)));
    const invalid = validate(etcdKey, value, zone, key, settings);
    if (invalid) return fail(invalid);
    const r = await this.commit(zone, key, undefined, value);
    if (!r.ok) return r;
    return ok(await this.settled(zone, key, { key: etcdKey, value: Buffer.from(value), modRevision: r.value, createRevision: r.value, lease: '0' }));
  }

  /**
   * update replaces an object. With expectedRevision, only that version may be replaced
   * (Conflict otherwise); without, the current version is, whatever it is (re-read and retried
   * when another write slips in between). uid and creationTimestamp are kept.
   */
  async update(zone: string, object: KubeObject, expectedRevision?: number): Promise<Result<StoredObject, StoreError>> {
    const target = this.target(zone, object);
    if (!target.ok) return target;
    const { key, etcdKey, settings } = target.value;
    let current = this.cached(zone, key, expectedRevision);
    for (let i = 0; i < ATTEMPTS; i++) {
      if (!current) {
        const read = await this.read(etcdKey, key, expectedRevision);
        if (!read.ok) return read;
        current = read.value;
      }
      const value = JSON.stringify(persistable(decorate(object, key.namespace, 0, current.object as KubeObject)));
      const invalid = validate(etcdKey, value, zone, key, settings);
      if (invalid) return fail(invalid);
      const r = await this.commit(zone, key, current, value);
      if (r.ok) {
        // createRevision only matters for objects without a uid, and decorate() gave this one a uid.
        return ok(await this.settled(zone, key, { key: etcdKey, value: Buffer.from(value), modRevision: r.value, createRevision: 0, lease: '0' }));
      }
      if (r.error.reason !== 'Conflict' || expectedRevision !== undefined || !('stale' in r.error)) return r;
      current = undefined; // another write came first and no precondition was given: read it and go again
    }
    return fail(conflict(key));
  }

  /** delete removes an object; with expectedRevision only that version (Conflict otherwise). */
  async delete(zone: string, key: ObjectKey, expectedRevision?: number): Promise<Result<StoredObject, StoreError>> {
    if (!this.ctx.zone(zone)) return fail(noZone(zone, this.ctx.keys));
    const etcdKey = this.ctx.keys.object(zone, key);
    let current = this.cached(zone, key, expectedRevision);
    for (let i = 0; i < ATTEMPTS; i++) {
      if (!current) {
        const read = await this.read(etcdKey, key, expectedRevision);
        if (!read.ok) return read;
        current = read.value;
      }
      const r = await this.commit(zone, key, current, null);
      if (r.ok) {
        await this.ctx.waitFor(r.value);
        // The object as it was, at the revision of its deletion (as a DELETED watch event shows it).
        return ok(storedObject({ key: etcdKey, value: Buffer.alloc(0), modRevision: r.value, createRevision: 0, lease: '0' }, zone, key, current.object));
      }
      if (r.error.reason !== 'Conflict' || expectedRevision !== undefined || !('stale' in r.error)) return r;
      current = undefined;
    }
    return fail(conflict(key));
  }

  // The cached version, when it is the one the caller expects (or any, without expectation).
  private cached(zone: string, key: ObjectKey, expected: number | undefined): Current | undefined {
    const c = this.ctx.cache.get(zone, key.kind, key.namespace, key.name);
    return c && (expected === undefined || c.revision === expected) ? { revision: c.revision, object: c.object } : undefined;
  }

  private async read(etcdKey: string, key: ObjectKey, expected: number | undefined): Promise<Result<Current, StoreError>> {
    const read = await attempt(() => this.ctx.client.get(etcdKey).exec());
    if (!read.ok) return read;
    const kv = read.value.kvs[0];
    if (!kv) return fail(notFound(key));
    const current = { revision: Number(kv.mod_revision), object: parseLoose(kv.value) };
    if (expected !== undefined && current.revision !== expected) return fail(conflict(key));
    return ok(current);
  }

  /**
   * commit writes `value` (null: deletes) when the key is as the caller saw it (`current`, or
   * absent for a create), with the reservations of a Service, and returns the new revision.
   * A Conflict marked `stale` means the object changed since `current` was read.
   */
  private async commit(zone: string, key: ObjectKey, current: Current | undefined, value: string | null): Promise<Result<number, StoreError & { stale?: true }>> {
    const { client, keys } = this.ctx;
    const etcdKey = keys.object(zone, key);
    const owner = `${key.namespace}/${key.name}`;
    const held = key.kind === 'Service' ? this.reservations(zone, value === null ? undefined : JSON.parse(value)) : [];
    const before = key.kind === 'Service' && current ? this.reservations(zone, current.object) : [];
    const wanted = held.filter((r) => !before.some((b) => b.key === r.key));
    let released = before.filter((b) => !held.some((r) => r.key === b.key));
    const claims = new Map<string, Claim>(wanted.map((r) => [r.key, { expect: 'absent' }]));
    for (let i = 0; i < ATTEMPTS; i++) {
      let txn = current ? client.if(etcdKey, 'Mod', '==', current.revision) : client.if(etcdKey, 'Create', '==', 0);
      for (const r of wanted) {
        const c = claims.get(r.key)!;
        txn = c.expect === 'absent' ? txn.and(r.key, 'Create', '==', 0) : c.expect === 'ours' ? txn.and(r.key, 'Value', '==', owner) : txn.and(r.key, 'Mod', '==', c.mod);
      }
      for (const r of released) txn = txn.and(r.key, 'Value', '==', owner);
      const ops = [
        value === null ? client.delete().key(etcdKey) : client.put(etcdKey).value(value),
        ...wanted.map((r) => client.put(r.key).value(owner)),
        ...released.map((r) => client.delete().key(r.key)),
      ];
      const checks = [client.get(etcdKey), ...wanted.map((r) => client.get(r.key)), ...released.map((r) => client.get(r.key))];
      const res = await attempt(() => txn.then(...ops).else(...checks).commit());
      if (!res.ok) return res;
      if (res.value.succeeded) return ok(Number(res.value.header.revision));
      const now = rangeKv(res.value, 0);
      if (!current && now) return fail(alreadyExists(key));
      if (current && !now) return fail(notFound(key));
      if (current && now && Number(now.mod_revision) !== current.revision) return fail({ ...conflict(key), stale: true });
      // The object is as expected: a reservation is in the way.
      const taken: Reservation[] = [];
      for (const [j, r] of wanted.entries()) {
        const kv = rangeKv(res.value, 1 + j);
        if (!kv) claims.set(r.key, { expect: 'absent' });
        else if (kv.value.toString() === owner) claims.set(r.key, { expect: 'ours' });
        else if (await this.holds(zone, kv.value.toString(), r)) taken.push(r);
        else claims.set(r.key, { expect: 'mod', mod: Number(kv.mod_revision) }); // stale: take it over
      }
      if (taken.length) {
        this.ctx.onAllocationConflict?.();
        return fail(allocationConflict(taken));
      }
      released = released.filter((r, j) => rangeKv(res.value, 1 + wanted.length + j)?.value.toString() === owner);
    }
    return fail(conflict(key));
  }

  // The reservation keys of what a Service object holds.
  private reservations(zone: string, object: unknown): Reservation[] {
    if (object === undefined) return [];
    const a = allocationsOf(object);
    return [
      ...a.ips.map((ip): Reservation => ({ key: this.ctx.keys.allocation(zone, 'clusterip', ip), field: 'spec.clusterIPs', value: ip })),
      ...a.ports.map((p): Reservation => ({ key: this.ctx.keys.allocation(zone, 'nodeport', String(p)), field: 'spec.ports[].nodePort', value: String(p) })),
    ];
  }

  // Whether the Service a reservation names exists and still holds the value.
  private async holds(zone: string, owner: string, r: Reservation): Promise<boolean> {
    const [namespace, name] = owner.split('/');
    if (!namespace || !name) return false;
    const kv = (await this.ctx.client.get(this.ctx.keys.object(zone, { kind: 'Service', namespace, name })).exec().catch(() => undefined))?.kvs[0];
    if (!kv) return false;
    return this.reservations(zone, parseLoose(kv.value)).some((h) => h.key === r.key);
  }

  private target(zone: string, object: KubeObject): Result<{ key: ObjectKey; etcdKey: string; settings: ZoneSettings }, StoreError> {
    const settings = this.ctx.zone(zone);
    if (!settings) return fail(noZone(zone, this.ctx.keys));
    const key = keyOfObject(object);
    if (!key) return fail({ reason: 'Invalid', message: 'the object needs a kind (Service, EndpointSlice, Endpoints or Namespace) and metadata.name' });
    return ok({ key, etcdKey: this.ctx.keys.object(zone, key), settings });
  }

  // Waits for the watch to bring the write into the cache and returns the cached object; after
  // the timeout (etcd became unreachable right after the write), the object as written.
  private async settled(zone: string, key: ObjectKey, kv: Kv): Promise<StoredObject> {
    await this.ctx.waitFor(kv.modRevision);
    const cached = this.ctx.cache.get(zone, key.kind, key.namespace, key.name);
    if (cached && cached.revision === kv.modRevision) return cached;
    const decoded = decodeObject(kv, zone, key, this.ctx.zone(zone) ?? defaultSettings(zone));
    return decoded.ok ? decoded.value : storedObject(kv, zone, key, parseLoose(kv.value));
  }
}

// Validates what is about to be written with the same converters the readers use.
function validate(etcdKey: string, value: string, zone: string, key: ObjectKey, settings: ZoneSettings): StoreError | undefined {
  const decoded = decodeObject({ key: etcdKey, value: Buffer.from(value), modRevision: 1, createRevision: 1, lease: '0' }, zone, key, settings);
  if (decoded.ok) return undefined;
  return { reason: 'Invalid', message: decoded.error.map((p: Problem) => formatProblem({ ...p, file: undefined })).join('; ') };
}

// Runs an etcd call; a failure to reach etcd is ServiceUnavailable, not an exception.
async function attempt<T>(call: () => Promise<T>): Promise<Result<T, StoreError>> {
  try {
    return ok(await call());
  } catch (err) {
    const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.replace(/\. Resolution note:.*$/, '');
    return fail({ reason: 'ServiceUnavailable', message: `etcd did not take the write: ${msg}` });
  }
}

function rangeKv(res: ITxnResponse, i: number): IKeyValue | undefined {
  return res.responses[i]?.response_range?.kvs[0];
}

function parseLoose(value: Buffer): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(value.toString('utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function noZone(zone: string, keys: KeyLayout): StoreError {
  return { reason: 'NotFound', message: `zone ${zone} does not exist in etcd (no key ${keys.zone(zone)}); svcdns import creates zones` };
}
// In the allocators' own words (api/allocate.ts), as a 422 from the API server would say it.
function allocationConflict(taken: readonly Reservation[]): StoreError {
  const ips = taken.filter((r) => r.field === 'spec.clusterIPs').map((r) => r.value);
  const ports = taken.filter((r) => r.field !== 'spec.clusterIPs').map((r) => Number(r.value));
  const words = [...ips.map((ip) => `spec.clusterIPs: Invalid value: ${JSON.stringify(ips)}: failed to allocate IP ${ip}: ${IP_ALLOCATED}`), ...ports.map((p) => `spec.ports[].nodePort: Invalid value: ${p}: ${PORT_ALLOCATED}`)];
  return { reason: 'Invalid', message: words.join(', '), allocation: { ips, ports } };
}
