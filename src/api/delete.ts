import type { IncomingMessage, ServerResponse } from 'node:http';
import { fail, ok, type Result } from '../result.js';
import type { ObjectKey, StoredObject } from '../store/types.js';
import { currentOf, isDryRun, storeError, viewOf, type ApiDeps, type Handled, type Target } from './context.js';
import { isRecord, str, type Obj } from './json.js';
import { readObject } from './request.js';
import { BUILTIN_NAMESPACES, resourceOfKind } from './resources.js';
import { sendObject, sendStatus } from './respond.js';
import { badRequest, conflict, failure, notFound, success, type Status } from './status.js';
import type { Item, ViewContext } from './views.js';
import { stale, withFreshCache } from './fresh.js';

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

/** remove serves DELETE: the object back (services, namespaces) or a Success Status (endpointslices). */
export async function remove(req: IncomingMessage, res: ServerResponse, url: URL, t: Target, deps: ApiDeps): Handled {
  const opts = await readDeleteOptions(req, url, deps);
  if (!opts.ok) return sendStatus(res, opts.error);
  const r = await deps.queue.run(() => withFreshCache(deps, () => deleteObject(t, opts.value, deps)));
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
  if (r.ok) return ok(item.object);
  // Without preconditions a Conflict only means this replica had not seen the latest version.
  const unconditional = opts.resourceVersion === undefined && opts.uid === undefined;
  return fail(unconditional && r.error.reason === 'Conflict' ? stale(storeError(t.def, t.name!, r.error)) : storeError(t.def, t.name!, r.error));
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
