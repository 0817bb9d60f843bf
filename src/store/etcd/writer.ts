import type { Etcd3, IKeyValue, ITxnResponse } from 'etcd3';
import { defaultSettings, type ZoneSettings } from '../../registry/settings.js';
import { fail, formatProblem, ok, type Problem, type Result } from '../../result.js';
import type { ObjectCache } from '../cache.js';
import { decorate, persistable } from '../decorate.js';
import { keyOfObject, type KubeObject, type ObjectKey, type StoreError, type StoredObject } from '../types.js';
import { decodeObject, kvOf, storedObject, type Kv } from './decode.js';
import { RESOURCES, type KeyLayout } from './keys.js';

/** WriterContext is what the writer needs from its store. */
export interface WriterContext {
  client: Etcd3;
  keys: KeyLayout;
  cache: ObjectCache;
  /** The settings of a zone that has a settings key; undefined for an unknown zone. */
  zone(domain: string): ZoneSettings | undefined;
  /** Resolves once the cache has applied `revision` (true), or after a timeout (false). */
  waitFor(revision: number): Promise<boolean>;
}

/** How often an update without expectedRevision re-reads and retries after a concurrent write. */
const UPDATE_ATTEMPTS = 5;

/**
 * EtcdWriter turns store writes into etcd transactions that compare and swap on the key:
 * create only when the key's create revision is 0 (absent), update and delete only when its mod
 * revision is the one the caller read (Kubernetes' resourceVersion precondition). Each write
 * returns once the watch has brought its change into the cache, so a client that writes and then
 * reads or watches from the returned resourceVersion sees its own write, in revision order.
 */
export class EtcdWriter {
  constructor(private readonly ctx: WriterContext) {}

  /** create stores a new object; AlreadyExists when its key is taken. */
  async create(zone: string, object: KubeObject): Promise<Result<StoredObject, StoreError>> {
    const target = this.target(zone, object);
    if (!target.ok) return target;
    const { key, etcdKey, settings } = target.value;
    const body = persistable(decorate(object, key.namespace, 0));
    const value = JSON.stringify(body);
    const invalid = validate(etcdKey, value, zone, key, settings);
    if (invalid) return fail(invalid);
    const { client } = this.ctx;
    const res = await attempt(() => client.if(etcdKey, 'Create', '==', 0).then(client.put(etcdKey).value(value)).else(client.get(etcdKey)).commit());
    if (!res.ok) return res;
    if (!res.value.succeeded) return fail(alreadyExists(key));
    const revision = Number(res.value.header.revision);
    return ok(await this.settled(zone, key, { key: etcdKey, value: Buffer.from(value), modRevision: revision, createRevision: revision, lease: '0' }));
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
    const { client, cache } = this.ctx;
    const cached = cache.get(zone, key.kind, key.namespace, key.name);
    let current: { revision: number; object: Record<string, unknown> } | undefined =
      cached && (expectedRevision === undefined || cached.revision === expectedRevision) ? { revision: cached.revision, object: cached.object } : undefined;
    for (let i = 0; i < UPDATE_ATTEMPTS; i++) {
      if (!current) {
        const read = await attempt(() => client.get(etcdKey).exec());
        if (!read.ok) return read;
        const kv = read.value.kvs[0];
        if (!kv) return fail(notFound(key));
        current = { revision: Number(kv.mod_revision), object: parseLoose(kv.value) };
        if (expectedRevision !== undefined && current.revision !== expectedRevision) return fail(conflict(key));
      }
      const body = persistable(decorate(object, key.namespace, 0, current.object as KubeObject));
      const value = JSON.stringify(body);
      const invalid = validate(etcdKey, value, zone, key, settings);
      if (invalid) return fail(invalid);
      const base = current.revision;
      const res = await attempt(() => client.if(etcdKey, 'Mod', '==', base).then(client.put(etcdKey).value(value)).else(client.get(etcdKey)).commit());
      if (!res.ok) return res;
      if (res.value.succeeded) {
        const revision = Number(res.value.header.revision);
        // createRevision only matters for objects without a uid, and decorate() gave this one a uid.
        return ok(await this.settled(zone, key, { key: etcdKey, value: Buffer.from(value), modRevision: revision, createRevision: 0, lease: '0' }));
      }
      const now = rangeKv(res.value);
      if (!now) return fail(notFound(key));
      if (expectedRevision !== undefined) return fail(conflict(key));
      current = { revision: Number(now.mod_revision), object: parseLoose(now.value) };
    }
    return fail(conflict(key));
  }

  /** delete removes an object; with expectedRevision only that version (Conflict otherwise). */
  async delete(zone: string, key: ObjectKey, expectedRevision?: number): Promise<Result<StoredObject, StoreError>> {
    if (!this.ctx.zone(zone)) return fail(noZone(zone, this.ctx.keys));
    const etcdKey = this.ctx.keys.object(zone, key);
    const { client } = this.ctx;
    const res = await attempt(() => {
      const txn = expectedRevision === undefined ? client.if(etcdKey, 'Create', '>', 0) : client.if(etcdKey, 'Mod', '==', expectedRevision);
      return txn.then(client.get(etcdKey), client.delete().key(etcdKey)).else(client.get(etcdKey)).commit();
    });
    if (!res.ok) return res;
    const last = rangeKv(res.value);
    if (!res.value.succeeded) return fail(last ? conflict(key) : notFound(key));
    if (!last) return fail(notFound(key));
    const revision = Number(res.value.header.revision);
    await this.ctx.waitFor(revision);
    // The object as it was, at the revision of its deletion (as a DELETED watch event shows it).
    return ok(storedObject({ ...kvOf(last), modRevision: revision }, zone, key, parseLoose(last.value)));
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

function rangeKv(res: ITxnResponse): IKeyValue | undefined {
  return res.responses[0]?.response_range?.kvs[0];
}

function parseLoose(value: Buffer): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(value.toString('utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const resource = (k: ObjectKey) => RESOURCES[k.kind];
function notFound(k: ObjectKey): StoreError {
  return { reason: 'NotFound', message: `${resource(k)} "${k.name}" not found` };
}
function alreadyExists(k: ObjectKey): StoreError {
  return { reason: 'AlreadyExists', message: `${resource(k)} "${k.name}" already exists` };
}
function conflict(k: ObjectKey): StoreError {
  return { reason: 'Conflict', message: `Operation cannot be fulfilled on ${resource(k)} "${k.name}": the object has been modified; please apply your changes to the latest version and try again` };
}
function noZone(zone: string, keys: KeyLayout): StoreError {
  return { reason: 'NotFound', message: `zone ${zone} does not exist in etcd (no key ${keys.zone(zone)}); svcdns import creates zones` };
}
