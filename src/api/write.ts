import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ZoneSettings } from '../registry/settings.js';
import { fail, ok, type Result } from '../result.js';
import { decorate } from '../store/decorate.js';
import type { KubeObject, StoredObject } from '../store/types.js';
import { applyConfiguration } from './apply.js';
import { mediaType, parseBody, readBody } from './body.js';
import { currentOf, isDryRun, outputOr406, sendOne, storeError, viewOf, type ApiDeps, type Handled, type Target } from './context.js';
import { clone, deepEqual, isRecord, str, type Obj } from './json.js';
import { jsonPatch, mergePatch, PATCH_SCHEMAS, strategicMerge } from './patch.js';
import { prepareObject } from './prepare.js';
import { checkKind, checkNamespace, readKindObject } from './request.js';
import { resourceOfKind, type ResourceDef } from './resources.js';
import { sendStatus } from './respond.js';
import { alreadyExists, badRequest, conflict, failure, notFound, type Status } from './status.js';
import { getItem, namespaceExists, present, type ViewContext } from './views.js';
import { stale, withFreshCache } from './fresh.js';

const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** create serves POST on a collection: 201 with the stored object. */
export async function create(req: IncomingMessage, res: ServerResponse, url: URL, t: Target, view: ViewContext, deps: ApiDeps): Handled {
  if (t.def.namespaced && t.namespace !== undefined && !namespaceExists(view, t.namespace)) {
    return sendStatus(res, notFound(resourceOfKind('Namespace'), t.namespace), { closeConnection: true });
  }
  if (t.def.namespaced && t.namespace === undefined) return sendStatus(res, failure('MethodNotAllowed', 'create needs a namespace: POST to /api/v1/namespaces/<namespace>/...'), { closeConnection: true });
  const output = outputOr406(req, res, false);
  if (!output) return;
  const read = await readKindObject(req, t.def, deps);
  if (!read.ok) return sendStatus(res, read.error);
  const obj = read.value;
  const meta = obj.metadata as Obj;
  const nsProblem = checkNamespace(t, obj);
  if (nsProblem) return sendStatus(res, nsProblem);
  if (meta.resourceVersion !== undefined && meta.resourceVersion !== '') return sendStatus(res, badRequest('resourceVersion should not be set on objects to be created'));
  if (!str(meta.name) && str(meta.generateName)) {
    meta.name = `${str(meta.generateName)}${Array.from({ length: 5 }, () => GENERATE_ALPHABET[Math.floor(deps.random() * GENERATE_ALPHABET.length)]).join('')}`;
  }
  if (!str(meta.name)) return sendStatus(res, failure('Invalid', `${t.def.kind} "" is invalid: metadata.name: Required value: name or generateName is required`, { kind: t.def.kind, causes: [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }] }));
  // Each attempt prepares a fresh copy: preparing fills in (allocates) fields of the object.
  const r = await deps.queue.run(() => withFreshCache(deps, () => createObject(t, clone(obj), isDryRun(url.searchParams), deps)));
  if (!r.ok) return sendStatus(res, r.error);
  return sendOne(res, 201, t.def, r.value, output, deps.now());
}

/** createObject stores a new object, after the existence check, the kind's strategy and allocation. */
export async function createObject(t: Target, obj: Obj, dryRun: boolean, deps: ApiDeps): Promise<Result<Obj, Status>> {
  const view = viewOf(deps);
  if (!view.ok) return view;
  const name = String((obj.metadata as Obj).name);
  const ns = t.def.namespaced ? (t.namespace ?? 'default') : '';
  if (getItem(t.def, view.value, ns, name)) return fail(alreadyExists(t.def, name));
  const prepared = prepareObject(t.def, obj, undefined, ns, { settings: view.value.settings, index: deps.index, random: deps.random });
  if (!prepared.ok) return prepared;
  return store('create', t.def, prepared.value, undefined, dryRun, deps, view.value.settings);
}

// `unconditional`: the client gave no resourceVersion, so a Conflict only means this replica's
// cache was behind (another replica wrote first): worth preparing again once it caught up.
async function store(op: 'create' | 'update', def: ResourceDef, obj: Obj, current: StoredObject | undefined, dryRun: boolean, deps: ApiDeps, settings: ZoneSettings, unconditional = false): Promise<Result<Obj, Status>> {
  const name = String((obj.metadata as Obj).name);
  const ns = def.namespaced ? String((obj.metadata as Obj).namespace) : '';
  if (dryRun) {
    const fake = decorate(obj, ns, deps.store.cache.revision, current?.object);
    return ok(present({ key: { kind: def.kind, namespace: ns, name }, zone: deps.zone, object: fake, revision: deps.store.cache.revision, origin: {} }, def, settings));
  }
  const r = op === 'create' || !current ? await deps.store.create(deps.zone, obj as KubeObject) : await deps.store.update(deps.zone, obj as KubeObject, current.revision);
  if (!r.ok) {
    const status = storeError(def, name, r.error);
    return fail(r.error.allocation || (unconditional && r.error.reason === 'Conflict') ? stale(status) : status);
  }
  return ok(present(r.value, def, settings));
}

/** update serves PUT (replace), with resourceVersion and uid preconditions. */
export async function update(req: IncomingMessage, res: ServerResponse, url: URL, t: Target, deps: ApiDeps): Handled {
  const output = outputOr406(req, res, false);
  if (!output) return;
  const read = await readKindObject(req, t.def, deps);
  if (!read.ok) return sendStatus(res, read.error);
  const obj = read.value;
  const bodyName = str((obj.metadata as Obj).name);
  if (bodyName !== undefined && bodyName !== t.name) return sendStatus(res, badRequest(`the name of the object (${bodyName}) does not match the name on the URL (${t.name})`));
  (obj.metadata as Obj).name = t.name;
  const nsProblem = checkNamespace(t, obj);
  if (nsProblem) return sendStatus(res, nsProblem);
  const r = await deps.queue.run(() => withFreshCache(deps, () => replaceObject(t, () => ok(clone(obj)), isDryRun(url.searchParams), deps)));
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
  { createIfMissing = false, unconditional }: { createIfMissing?: boolean; unconditional?: boolean } = {},
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
  const r = await store(stored ? 'update' : 'create', t.def, prepared.value, stored, dryRun, deps, view.value.settings, unconditional ?? (rv === undefined || rv === ''));
  return r.ok ? ok({ object: r.value, created: false }) : r;
}

function sameContent(a: Obj, b: Obj): boolean {
  const strip = (o: Obj) => ({ ...o, metadata: { ...(o.metadata as Obj), resourceVersion: undefined } });
  return deepEqual(JSON.parse(JSON.stringify(strip(a))), JSON.parse(JSON.stringify(strip(b))));
}

const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'];

/** patch serves PATCH: JSON patch, merge patch, strategic merge patch and server-side apply. */
export async function patch(req: IncomingMessage, res: ServerResponse, url: URL, t: Target, deps: ApiDeps): Handled {
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
  // A patch is computed from the current object, so it always carries its resourceVersion: it is
  // a precondition only when the patch itself names one.
  const unconditional = !JSON.stringify(body.value).includes('resourceVersion');
  const r = await deps.queue.run(() => withFreshCache(deps, () => replaceObject(t, next, isDryRun(url.searchParams), deps, { createIfMissing: apply, unconditional })));
  if (!r.ok) return sendStatus(res, r.error);
  return sendOne(res, r.value.created ? 201 : 200, t.def, r.value.object, output, deps.now());
}
