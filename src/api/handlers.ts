import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import type { ZoneSettings } from '../registry/settings.js';
import { fail, ok, type Result } from '../result.js';
import { decorate } from '../store/decorate.js';
import type { KubeObject, ObjectKey, ObjectStore, StoreError, StoredObject } from '../store/types.js';
import { AllocationIndex } from './allocate.js';
import { applyConfiguration } from './apply.js';
import { mediaType, parseBody, readBody, type BodyFormat, type BodyLimits } from './body.js';
import { clone, deepEqual, isRecord, str, type Obj } from './json.js';
import { negotiate, type Output } from './negotiate.js';
import { jsonPatch, mergePatch, PATCH_SCHEMAS, strategicMerge } from './patch.js';
import { prepareObject } from './prepare.js';
import { matches, parseListOptions } from './query.js';
import type { WriteQueue } from './queue.js';
import { BUILTIN_NAMESPACES, resourceOfKind, type ResourceDef } from './resources.js';
import { sendObject, sendStatus } from './respond.js';
import { alreadyExists, badRequest, conflict, failure, internalError, notFound, success, type Status } from './status.js';
import { partialObject, toTable, type IncludeObject } from './tables.js';
import { getItem, listItems, namespaceExists, present, type Item, type ViewContext } from './views.js';
import { serveWatch } from './watch.js';

/** ApiDeps is everything the resource handlers use. */
export interface ApiDeps {
  store: ObjectStore;
  /** The zone (cluster domain) the API reads and writes. */
  zone: string;
  log: Logger;
  index: AllocationIndex;
  limits: BodyLimits;
  queue: WriteQueue;
  now: () => number;
  random: () => number;
  startedAt: number;
  watchTimeoutSeconds?: number;
}

/** Target is what a resource URL names: a resource, maybe a namespace, an object and a subresource. */
export interface Target {
  def: ResourceDef;
  namespace?: string;
  name?: string;
  subresource?: 'status';
}

type Handled = Promise<void>;

function viewOf(deps: ApiDeps): Result<ViewContext, Status> {
  const zone = deps.store.zones().find((z) => z.domain === deps.zone);
  if (!zone) return fail(failure('ServiceUnavailable', `zone ${deps.zone} is not served (its folder is gone?): the API has nowhere to read or write`));
  return ok({ cache: deps.store.cache, zone: deps.zone, settings: zone.settings, startedAt: deps.startedAt });
}

const isDryRun = (q: URLSearchParams) => q.getAll('dryRun').includes('All');

function checkDryRun(q: URLSearchParams): Status | undefined {
  const bad = q.getAll('dryRun').find((v) => v !== 'All');
  return bad === undefined ? undefined : badRequest(`Invalid dryRun value ${JSON.stringify(bad)}: only "All" is supported`);
}

/** handleResource serves one request on a resource URL (authorization is already done). */
export async function handleResource(req: IncomingMessage, res: ServerResponse, url: URL, target: Target, deps: ApiDeps): Handled {
  const view = viewOf(deps);
  if (!view.ok) return sendStatus(res, view.error);
  const method = req.method ?? 'GET';
  const { def, name } = target;
  const notAllowed = () => sendStatus(res, failure('MethodNotAllowed', `the server does not allow this method on the requested resource`), { closeConnection: true });
  if (method === 'GET') return name === undefined ? list(res, req, url, target, view.value, deps) : get(res, req, url, target, view.value);
  if (def.readOnly) return notAllowed();
  const dry = checkDryRun(url.searchParams);
  if (dry) return sendStatus(res, dry, { closeConnection: true });
  if (method === 'POST' && name === undefined && !target.subresource) return create(req, res, url, target, view.value, deps);
  if (method === 'PUT' && name !== undefined) return update(req, res, url, target, deps);
  if (method === 'PATCH' && name !== undefined) return patch(req, res, url, target, deps);
  if (method === 'DELETE' && name !== undefined && !target.subresource) return remove(req, res, url, target, deps);
  return notAllowed();
}

function outputOr406(req: IncomingMessage, res: ServerResponse, list: boolean): Output | undefined {
  const out = negotiate(req.headers.accept, { list });
  if (!out) sendStatus(res, failure('NotAcceptable', `only the following media types are accepted: application/json, application/yaml (as=Table or PartialObjectMetadata of meta.k8s.io v1 or v1beta1)`));
  return out ?? undefined;
}

async function list(res: ServerResponse, req: IncomingMessage, url: URL, t: Target, view: ViewContext, deps: ApiDeps): Handled {
  const output = outputOr406(req, res, !parseBool(url.searchParams.get('watch')));
  if (!output) return;
  const opts = parseListOptions(t.def, url.searchParams);
  if (!opts.ok) return sendStatus(res, opts.error);
  if (opts.value.watch) {
    return serveWatch(res, { def: t.def, view, ...(t.namespace !== undefined ? { namespace: t.namespace } : {}), opts: opts.value, output, now: deps.now, log: deps.log, ...(deps.watchTimeoutSeconds ? { defaultTimeoutSeconds: deps.watchTimeoutSeconds } : {}) });
  }
  const rv = String(view.cache.revision);
  const items = listItems(t.def, view, t.namespace).filter((i) => matches(t.def, opts.value, i.object)).map((i) => i.object);
  if (output.as === 'table') return sendObject(res, 200, toTable(t.def, items, { now: deps.now(), resourceVersion: rv, includeObject: opts.value.includeObject, metaVersion: output.metaVersion }), output);
  if (output.as === 'partial') {
    return sendObject(res, 200, { kind: 'PartialObjectMetadataList', apiVersion: `meta.k8s.io/${output.metaVersion}`, metadata: { resourceVersion: rv }, items: items.map((o) => partialObject(o, output.metaVersion)) }, output);
  }
  return sendObject(res, 200, { kind: t.def.listKind, apiVersion: t.def.apiVersion, metadata: { resourceVersion: rv }, items }, output);
}

function parseBool(v: string | null): boolean {
  return v === 'true' || v === '1';
}

async function get(res: ServerResponse, req: IncomingMessage, url: URL, t: Target, view: ViewContext): Handled {
  const output = outputOr406(req, res, false);
  if (!output) return;
  const item = getItem(t.def, view, t.namespace ?? '', t.name!);
  if (!item) return sendStatus(res, notFound(t.def, t.name!));
  const include = url.searchParams.get('includeObject');
  return sendOne(res, 200, t.def, item.object, output, Date.now(), include === 'Object' || include === 'None' ? include : 'Metadata');
}

function sendOne(res: ServerResponse, code: number, def: ResourceDef, o: Obj, output: Output, now: number, includeObject: IncludeObject = 'Metadata'): void {
  if (output.as === 'table') {
    const rv = isRecord(o.metadata) ? (str(o.metadata.resourceVersion) ?? '') : '';
    return sendObject(res, code, toTable(def, [o], { now, resourceVersion: rv, includeObject, metaVersion: output.metaVersion }), output);
  }
  if (output.as === 'partial') return sendObject(res, code, partialObject(o, output.metaVersion), output);
  return sendObject(res, code, o, output);
}

/** Body formats by request Content-Type; a missing type is guessed (JSON if it looks like it, else YAML). */
function bodyFormat(contentType: string | undefined, allowed: readonly string[]): BodyFormat | undefined {
  const t = mediaType(contentType);
  if (t === '') return 'guess';
  if (!allowed.includes(t)) return undefined;
  if (t === 'application/vnd.kubernetes.protobuf') return 'protobuf';
  return t.endsWith('json') ? 'json' : 'yaml';
}

const OBJECT_TYPES = ['application/json', 'application/yaml', 'application/x-yaml', 'text/yaml', 'application/vnd.kubernetes.protobuf'];

async function readObject(req: IncomingMessage, deps: ApiDeps, allowed = OBJECT_TYPES): Promise<Result<unknown, Status>> {
  const format = bodyFormat(req.headers['content-type'], allowed);
  if (!format) {
    return fail(failure('UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${allowed.join(', ')}`));
  }
  const buf = await readBody(req, deps.limits);
  if (!buf.ok) return buf;
  return parseBody(buf.value, format, deps.limits);
}

/** checkKind makes sure a body is an object of the resource's kind (kind and apiVersion may be left out). */
function checkKind(def: ResourceDef, body: unknown): Result<Obj, Status> {
  if (!isRecord(body)) return fail(badRequest(`the object provided is unrecognized (must be of type ${def.kind}): expected a JSON/YAML object`));
  const kind = body.kind ?? def.kind;
  const apiVersion = body.apiVersion ?? def.apiVersion;
  if (kind !== def.kind) return fail(badRequest(`the object provided is unrecognized (must be of type ${def.kind}): kind ${JSON.stringify(kind)} cannot be handled as a ${def.kind}`));
  const accepted = def.kind === 'EndpointSlice' ? [def.apiVersion, 'discovery.k8s.io/v1beta1'] : [def.apiVersion];
  if (typeof apiVersion !== 'string' || !accepted.includes(apiVersion)) return fail(badRequest(`the API version in the data (${String(apiVersion)}) does not match the expected API version (${def.apiVersion})`));
  if (body.metadata !== undefined && !isRecord(body.metadata)) return fail(badRequest('metadata must be an object'));
  return ok({ ...body, kind, apiVersion, metadata: isRecord(body.metadata) ? { ...body.metadata } : {} });
}

function checkNamespace(t: Target, obj: Obj): Status | undefined {
  const meta = obj.metadata as Obj;
  if (!t.def.namespaced) return undefined;
  const ns = str(meta.namespace);
  if (ns && ns !== t.namespace) return badRequest('the namespace of the provided object does not match the namespace sent on the request');
  return undefined;
}

const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

async function create(req: IncomingMessage, res: ServerResponse, url: URL, t: Target, view: ViewContext, deps: ApiDeps): Handled {
  if (t.def.namespaced && t.namespace !== undefined && !namespaceExists(view, t.namespace)) {
    return sendStatus(res, notFound(resourceOfKind('Namespace'), t.namespace), { closeConnection: true });
  }
  if (t.def.namespaced && t.namespace === undefined) return sendStatus(res, failure('MethodNotAllowed', 'create needs a namespace: POST to /api/v1/namespaces/<namespace>/...'), { closeConnection: true });
  const output = outputOr406(req, res, false);
  if (!output) return;
  const body = await readObject(req, deps);
  if (!body.ok) return sendStatus(res, body.error);
  const checked = checkKind(t.def, body.value);
  if (!checked.ok) return sendStatus(res, checked.error);
  const obj = checked.value;
  const meta = obj.metadata as Obj;
  const nsProblem = checkNamespace(t, obj);
  if (nsProblem) return sendStatus(res, nsProblem);
  if (meta.resourceVersion !== undefined && meta.resourceVersion !== '') return sendStatus(res, badRequest('resourceVersion should not be set on objects to be created'));
  if (!str(meta.name) && str(meta.generateName)) {
    meta.name = `${str(meta.generateName)}${Array.from({ length: 5 }, () => GENERATE_ALPHABET[Math.floor(deps.random() * GENERATE_ALPHABET.length)]).join('')}`;
  }
  if (!str(meta.name)) return sendStatus(res, failure('Invalid', `${t.def.kind} "" is invalid: metadata.name: Required value: name or generateName is required`, { kind: t.def.kind, causes: [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }] }));
  const r = await deps.queue.run(() => createObject(t, obj, isDryRun(url.searchParams), deps));
  if (!r.ok) return sendStatus(res, r.error);
  return sendOne(res, 201, t.def, r.value, output, deps.now());
}

/** createObject stores a new object, after the existence check, the kind's strategy and allocation. */
async function createObject(t: Target, obj: Obj, dryRun: boolean, deps: ApiDeps): Promise<Result<Obj, Status>> {
  const view = viewOf(deps);
  if (!view.ok) return view;
  const name = String((obj.metadata as Obj).name);
  const ns = t.def.namespaced ? (t.namespace ?? 'default') : '';
  if (getItem(t.def, view.value, ns, name)) return fail(alreadyExists(t.def, name));
  const prepared = prepareObject(t.def, obj, undefined, ns, { settings: view.value.settings, index: deps.index, random: deps.random });
  if (!prepared.ok) return prepared;
  return store('create', t.def, prepared.value, undefined, dryRun, deps, view.value.settings);
}

async function store(op: 'create' | 'update', def: ResourceDef, obj: Obj, current: StoredObject | undefined, dryRun: boolean, deps: ApiDeps, settings: ZoneSettings): Promise<Result<Obj, Status>> {
  const name = String((obj.metadata as Obj).name);
  const ns = def.namespaced ? String((obj.metadata as Obj).namespace) : '';
  if (dryRun) {
    const fake = decorate(obj, ns, deps.store.cache.revision, current?.object);
    return ok(present({ key: { kind: def.kind, namespace: ns, name }, zone: deps.zone, object: fake, revision: deps.store.cache.revision, origin: {} }, def, settings));
  }
  const r = op === 'create' || !current ? await deps.store.create(deps.zone, obj as KubeObject) : await deps.store.update(deps.zone, obj as KubeObject, current.revision);
  if (!r.ok) return fail(storeError(def, name, r.error));
  return ok(present(r.value, def, settings));
}

function storeError(def: ResourceDef, name: string, e: StoreError): Status {
  switch (e.reason) {
    case 'NotFound':
      return notFound(def, name);
    case 'AlreadyExists':
      return alreadyExists(def, name);
    case 'Conflict':
      return /has been modified/.test(e.message) ? conflict(def, name) : conflict(def, name, e.message);
    case 'Invalid':
      return failure('Invalid', `${def.kind} "${name}" is invalid: ${e.message}`, { name, kind: def.kind });
    case 'ServiceUnavailable':
      return failure('ServiceUnavailable', e.message);
    default:
      return internalError(e.message);
  }
}

/** currentOf reads the object a write applies to: its API form and, unless it is computed, its stored form. */
function currentOf(t: Target, deps: ApiDeps, view: ViewContext): { item?: Item; stored?: StoredObject } {
  const ns = t.def.namespaced ? (t.namespace ?? 'default') : '';
  const item = getItem(t.def, view, ns, t.name!);
  const stored = deps.store.cache.get(deps.zone, t.def.kind, ns, t.name!);
  return { ...(item ? { item } : {}), ...(stored ? { stored } : {}) };
}

async function update(req: IncomingMessage, res: ServerResponse, url: URL, t: Target, deps: ApiDeps): Handled {
  const output = outputOr406(req, res, false);
  if (!output) return;
  const body = await readObject(req, deps);
  if (!body.ok) return sendStatus(res, body.error);
  const checked = checkKind(t.def, body.value);
  if (!checked.ok) return sendStatus(res, checked.error);
  const obj = checked.value;
  const bodyName = str((obj.metadata as Obj).name);
  if (bodyName !== undefined && bodyName !== t.name) return sendStatus(res, badRequest(`the name of the object (${bodyName}) does not match the name on the URL (${t.name})`));
  (obj.metadata as Obj).name = t.name;
  const nsProblem = checkNamespace(t, obj);
  if (nsProblem) return sendStatus(res, nsProblem);
  const r = await deps.queue.run(() => replaceObject(t, () => ok(obj), isDryRun(url.searchParams), deps));
  if (!r.ok) return sendStatus(res, r.error);
  return sendOne(res, r.value.created ? 201 : 200, t.def, r.value.object, output, deps.now());
}

/**
 * replaceObject is the shared end of PUT and PATCH: read the current object, compute the new one
 * from it, check the resourceVersion and uid preconditions, apply the strategy and store. A
 * server-side apply of an object that does not exist creates it.
 */
async function replaceObject(
  t: Target,
  next: (current: Obj | undefined) => Result<Obj, Status>,
  dryRun: boolean,
  deps: ApiDeps,
  { createIfMissing = false } = {},
): Promise<Result<{ object: Obj; created: boolean }, Status>> {
  const view = viewOf(deps);
  if (!view.ok) return view;
  const { item, stored } = currentOf(t, deps, view.value);
  const ns = t.def.namespaced ? (t.namespace ?? 'default') : '';
  if (!item) {
    if (!createIfMissing) return fail(notFound(t.def, t.name!));
    if (t.def.namespaced && !namespaceExists(view.value, ns)) return fail(notFound(resourceOfKind('Namespace'), ns));
    const obj = next(undefined);
    if (!obj.ok) return obj;
    const checked = checkKind(t.def, obj.value);
    if (!checked.ok) return checked;
    const created = await createObject(t, checked.value, dryRun, deps);
    return created.ok ? ok({ object: created.value, created: true }) : created;
  }
  const computed = next(clone(item.object));
  if (!computed.ok) return computed;
  const obj = computed.value;
  const meta = isRecord(obj.metadata) ? obj.metadata : (obj.metadata = {});
  if (str(meta.name) !== undefined && meta.name !== t.name) return fail(badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${t.name})`));
  const curMeta = item.object.metadata as Obj;
  const rv = meta.resourceVersion;
  if (rv !== undefined && rv !== '' && String(rv) !== String(curMeta.resourceVersion)) return fail(conflict(t.def, t.name!));
  if (str(meta.uid) && meta.uid !== curMeta.uid) {
    return fail(conflict(t.def, t.name!, `Precondition failed: UID in precondition: ${String(meta.uid)}, UID in object meta: ${String(curMeta.uid)}`));
  }
  meta.name = t.name;
  let candidate = obj;
  if (t.subresource === 'status') {
    // The status subresource changes status only; everything else stays as it is.
    candidate = { ...clone(item.object), status: obj.status };
  }
  const prepared = prepareObject(t.def, candidate, item.object, ns, { settings: view.value.settings, index: deps.index, random: deps.random });
  if (!prepared.ok) return prepared;
  if (t.subresource === 'status' && t.def.kind === 'Service') prepared.value.status = obj.status ?? { loadBalancer: {} };
  // An update that changes nothing is not written: no new resourceVersion, no watch event (as in Kubernetes).
  if (stored && sameContent(prepared.value, item.object)) return ok({ object: item.object, created: false });
  // A namespace that exists only because objects live in it becomes a stored Namespace on its first write.
  const r = await store(stored ? 'update' : 'create', t.def, prepared.value, stored, dryRun, deps, view.value.settings);
  return r.ok ? ok({ object: r.value, created: false }) : r;
}

function sameContent(a: Obj, b: Obj): boolean {
  const strip = (o: Obj) => ({ ...o, metadata: { ...(o.metadata as Obj), resourceVersion: undefined } });
  return deepEqual(JSON.parse(JSON.stringify(strip(a))), JSON.parse(JSON.stringify(strip(b))));
}

const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'];

async function patch(req: IncomingMessage, res: ServerResponse, url: URL, t: Target, deps: ApiDeps): Handled {
  const output = outputOr406(req, res, false);
  if (!output) return;
  const type = mediaType(req.headers['content-type']);
  if (!PATCH_TYPES.includes(type)) {
    return sendStatus(res, failure('UnsupportedMediaType', `the server is unable to handle the patch content type ${JSON.stringify(type)}: use one of ${PATCH_TYPES.join(', ')}`), { closeConnection: true });
  }
  const apply = type === 'application/apply-patch+yaml';
  if (apply && !url.searchParams.get('fieldManager')) return sendStatus(res, badRequest('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'), { closeConnection: true });
  const buf = await readBody(req, deps.limits);
  if (!buf.ok) return sendStatus(res, buf.error);
  const body = parseBody(buf.value, apply ? 'yaml' : 'json', deps.limits);
  if (!body.ok) return sendStatus(res, body.error);
  const schema = PATCH_SCHEMAS[t.def.kind];
  const next = (current: Obj | undefined): Result<Obj, Status> => {
    let out: unknown;
    if (apply) {
      const r = applyConfiguration(current, body.value, schema, url.searchParams.get('fieldManager') ?? undefined);
      if (!r.ok) return fail(badRequest(r.error));
      out = r.value;
    } else if (type === 'application/json-patch+json') {
      const r = jsonPatch(current, body.value);
      if (!r.ok) return fail(failure('Invalid', `the server rejected our request due to an error in our request: ${r.error}`));
      out = r.value;
    } else if (type === 'application/merge-patch+json') {
      if (!isRecord(body.value)) return fail(badRequest('a merge patch must be a JSON object'));
      out = mergePatch(current, body.value);
    } else {
      if (!isRecord(body.value)) return fail(badRequest('a strategic merge patch must be a JSON object'));
      const r = strategicMerge(current, body.value, schema);
      if (!r.ok) return fail(badRequest(r.error));
      out = r.value;
    }
    return isRecord(out) ? ok(out) : fail(badRequest('the patched object is not an object'));
  };
  if (apply && isRecord(body.value)) {
    const checked = checkKind(t.def, body.value);
    if (!checked.ok) return sendStatus(res, checked.error);
    const n = isRecord(body.value.metadata) ? str(body.value.metadata.name) : undefined;
    if (n !== t.name) return sendStatus(res, badRequest(`the name of the object (${n ?? ''}) does not match the name on the URL (${t.name})`));
  }
  const r = await deps.queue.run(() => replaceObject(t, next, isDryRun(url.searchParams), deps, { createIfMissing: apply }));
  if (!r.ok) return sendStatus(res, r.error);
  return sendOne(res, r.value.created ? 201 : 200, t.def, r.value.object, output, deps.now());
}

/** DeleteOptions preconditions kubectl and clients send. */
interface DeleteOptions {
  uid?: string;
  resourceVersion?: string;
  dryRun: boolean;
}

async function readDeleteOptions(req: IncomingMessage, url: URL, deps: ApiDeps): Promise<Result<DeleteOptions, Status>> {
  const opts: DeleteOptions = { dryRun: isDryRun(url.searchParams) };
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (!hasBody) return ok(opts);
  const body = await readObject(req, deps, ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf']);
  if (!body.ok) {
    // A protobuf DeleteOptions is not decoded here: the options it may carry are all optional.
    return body.error.reason === 'UnsupportedMediaType' ? ok(opts) : body;
  }
  if (!isRecord(body.value)) return fail(badRequest('DeleteOptions must be an object'));
  const pre = isRecord(body.value.preconditions) ? body.value.preconditions : {};
  if (typeof pre.uid === 'string') opts.uid = pre.uid;
  if (typeof pre.resourceVersion === 'string') opts.resourceVersion = pre.resourceVersion;
  if (Array.isArray(body.value.dryRun) && body.value.dryRun.includes('All')) opts.dryRun = true;
  return ok(opts);
}

async function remove(req: IncomingMessage, res: ServerResponse, url: URL, t: Target, deps: ApiDeps): Handled {
  const opts = await readDeleteOptions(req, url, deps);
  if (!opts.ok) return sendStatus(res, opts.error);
  const r = await deps.queue.run(() => deleteObject(t, opts.value, deps));
  if (!r.ok) return sendStatus(res, r.error);
  if (!t.def.returnDeletedObject) return sendObject(res, 200, success(t.def, t.name!, str((r.value.metadata as Obj).uid)));
  return sendObject(res, 200, r.value);
}

async function deleteObject(t: Target, opts: DeleteOptions, deps: ApiDeps): Promise<Result<Obj, Status>> {
  const view = viewOf(deps);
  if (!view.ok) return view;
  const { item, stored } = currentOf(t, deps, view.value);
  if (!item) return fail(notFound(t.def, t.name!));
  const meta = item.object.metadata as Obj;
  if (opts.uid !== undefined && opts.uid !== meta.uid) {
    return fail(conflict(t.def, t.name!, `Precondition failed: UID in precondition: ${opts.uid}, UID in object meta: ${String(meta.uid)}`));
  }
  if (opts.resourceVersion !== undefined && opts.resourceVersion !== meta.resourceVersion) {
    return fail(conflict(t.def, t.name!, `Precondition failed: ResourceVersion in precondition: ${opts.resourceVersion}, ResourceVersion in object meta: ${String(meta.resourceVersion)}`));
  }
  if (t.def.kind === 'Namespace') return deleteNamespace(t, item, stored, opts.dryRun, deps, view.value);
  if (opts.dryRun) return ok(item.object);
  const r = await deps.store.delete(deps.zone, { kind: t.def.kind, namespace: t.namespace ?? 'default', name: t.name! }, stored?.revision);
  return r.ok ? ok(item.object) : fail(storeError(t.def, t.name!, r.error));
}

/**
 * deleteNamespace deletes a namespace as Kubernetes does, with everything in it: its Services,
 * EndpointSlices and Endpoints (from the files that define them), then its Namespace object.
 * Built-in namespaces cannot be deleted.
 */
async function deleteNamespace(t: Target, item: Item, stored: StoredObject | undefined, dryRun: boolean, deps: ApiDeps, view: ViewContext): Promise<Result<Obj, Status>> {
  const name = t.name!;
  if (BUILTIN_NAMESPACES.includes(name)) return fail(failure('Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: 'namespaces' }));
  const terminating = { ...item.object, status: { phase: 'Terminating' } };
  if (dryRun) return ok(terminating);
  for (const kind of ['Service', 'EndpointSlice', 'Endpoints'] as const) {
    for (const o of view.cache.list(kind, name, deps.zone)) {
      const key: ObjectKey = { kind, namespace: name, name: o.key.name };
      const r = await deps.store.delete(deps.zone, key);
      if (!r.ok && r.error.reason !== 'NotFound') return fail(storeError(resourceOfKind(kind), o.key.name, r.error));
    }
  }
  if (stored) {
    const r = await deps.store.delete(deps.zone, { kind: 'Namespace', namespace: '', name });
    if (!r.ok && r.error.reason !== 'NotFound') return fail(storeError(t.def, name, r.error));
  }
  return ok(terminating);
}
