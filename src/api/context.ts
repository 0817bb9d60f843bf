import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import { fail, ok, type Result } from '../result.js';
import type { ObjectStore, StoreError, StoredObject } from '../store/types.js';
import type { AllocationIndex } from './allocate.js';
import type { BodyLimits } from './body.js';
import { isRecord, str, type Obj } from './json.js';
import { negotiate, type Output } from './negotiate.js';
import type { WriteQueue } from './queue.js';
import type { ResourceDef } from './resources.js';
import { sendObject, sendStatus } from './respond.js';
import { alreadyExists, badRequest, conflict, failure, internalError, notFound, type Status } from './status.js';
import { partialObject, toTable, type IncludeObject } from './tables.js';
import { getItem, type Item, type ViewContext } from './views.js';

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

/** Handled is what a verb handler returns. */
export type Handled = Promise<void>;

/** viewOf gives what reads need: the cache and the API zone's settings; 503 when the zone is gone. */
export function viewOf(deps: ApiDeps): Result<ViewContext, Status> {
  const zone = deps.store.zones().find((z) => z.domain === deps.zone);
  if (!zone) return fail(failure('ServiceUnavailable', `zone ${deps.zone} is not served (its folder is gone?): the API has nowhere to read or write`));
  return ok({ cache: deps.store.cache, zone: deps.zone, settings: zone.settings, startedAt: deps.startedAt });
}

/** isDryRun tells a `?dryRun=All` request: answer as the write would, store nothing. */
export const isDryRun = (q: URLSearchParams) => q.getAll('dryRun').includes('All');

/** checkDryRun refuses a dryRun value other than All, as the API server does. */
export function checkDryRun(q: URLSearchParams): Status | undefined {
  const bad = q.getAll('dryRun').find((v) => v !== 'All');
  return bad === undefined ? undefined : badRequest(`Invalid dryRun value ${JSON.stringify(bad)}: only "All" is supported`);
}

/** outputOr406 negotiates the response form, or answers 406. */
export function outputOr406(req: IncomingMessage, res: ServerResponse, list: boolean): Output | undefined {
  const out = negotiate(req.headers.accept, { list });
  if (!out) sendStatus(res, failure('NotAcceptable', `only the following media types are accepted: application/json, application/yaml (as=Table or PartialObjectMetadata of meta.k8s.io v1 or v1beta1)`));
  return out ?? undefined;
}

/** sendOne writes one object in the negotiated form. */
export function sendOne(res: ServerResponse, code: number, def: ResourceDef, o: Obj, output: Output, now: number, includeObject: IncludeObject = 'Metadata'): void {
  if (output.as === 'table') {
    const rv = isRecord(o.metadata) ? (str(o.metadata.resourceVersion) ?? '') : '';
    return sendObject(res, code, toTable(def, [o], { now, resourceVersion: rv, includeObject, metaVersion: output.metaVersion }), output);
  }
  if (output.as === 'partial') return sendObject(res, code, partialObject(o, output.metaVersion), output);
  return sendObject(res, code, o, output);
}

/** storeError turns a store's refusal into the Status Kubernetes would send. */
export function storeError(def: ResourceDef, name: string, e: StoreError): Status {
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
export function currentOf(t: Target, deps: ApiDeps, view: ViewContext): { item?: Item; stored?: StoredObject } {
  const ns = t.def.namespaced ? (t.namespace ?? 'default') : '';
  const item = getItem(t.def, view, ns, t.name!);
  const stored = deps.store.cache.get(deps.zone, t.def.kind, ns, t.name!);
  return { ...(item ? { item } : {}), ...(stored ? { stored } : {}) };
}
