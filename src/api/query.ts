import { fail, ok, type Result } from '../result.js';
import { isRecord, str, stringMap, type Obj } from './json.js';
import type { ResourceDef } from './resources.js';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector, type FieldRequirement, type LabelRequirement } from './selectors.js';
import { badRequest, type Status } from './status.js';
import type { IncludeObject } from './tables.js';

/** ListOptions are the query parameters of a list or watch (metav1.ListOptions). */
export interface ListOptions {
  labels: LabelRequirement[];
  fields: FieldRequirement[];
  watch: boolean;
  /** undefined or "0": start from the current state; a number: replay changes after it. */
  resourceVersion?: number;
  timeoutSeconds?: number;
  includeObject: IncludeObject;
  sendInitialEvents: boolean;
  allowBookmarks: boolean;
}

const bool = (v: string | null) => v === 'true' || v === '1';

/** parseListOptions reads a list/watch request's query; a malformed selector or number is a 400. */
export function parseListOptions(def: ResourceDef, q: URLSearchParams): Result<ListOptions, Status> {
  const labels = parseLabelSelector(q.get('labelSelector') ?? '');
  if (!labels.ok) return fail(badRequest(`unable to parse labelSelector: ${labels.error}`));
  const allowed = ['metadata.name', ...(def.namespaced ? ['metadata.namespace'] : []), ...def.extraFields];
  const fields = parseFieldSelector(q.get('fieldSelector') ?? '', allowed);
  if (!fields.ok) return fail(badRequest(`unable to parse fieldSelector: ${fields.error}`));
  const rvRaw = q.get('resourceVersion') ?? '';
  if (rvRaw !== '' && !/^\d+$/.test(rvRaw)) return fail(badRequest(`invalid resourceVersion ${JSON.stringify(rvRaw)}: expected a number`));
  const timeoutRaw = q.get('timeoutSeconds');
  if (timeoutRaw !== null && !/^\d+$/.test(timeoutRaw)) return fail(badRequest(`invalid timeoutSeconds ${JSON.stringify(timeoutRaw)}`));
  const include = q.get('includeObject') ?? 'Metadata';
  if (include !== 'Metadata' && include !== 'Object' && include !== 'None') return fail(badRequest(`invalid includeObject ${JSON.stringify(include)}: expected None, Metadata or Object`));
  return ok({
    labels: labels.value,
    fields: fields.value,
    watch: bool(q.get('watch')),
    ...(rvRaw !== '' && rvRaw !== '0' ? { resourceVersion: Number(rvRaw) } : {}),
    ...(timeoutRaw !== null ? { timeoutSeconds: Number(timeoutRaw) } : {}),
    includeObject: include,
    sendInitialEvents: bool(q.get('sendInitialEvents')),
    allowBookmarks: bool(q.get('allowWatchBookmarks')),
  });
}

/** selectableFields gives the fields a field selector can test on an object. */
export function selectableFields(def: ResourceDef, o: Obj): Record<string, string> {
  const meta = isRecord(o.metadata) ? o.metadata : {};
  const out: Record<string, string> = { 'metadata.name': str(meta.name) ?? '' };
  if (def.namespaced) out['metadata.namespace'] = str(meta.namespace) ?? '';
  if (def.kind === 'Namespace') out['status.phase'] = (isRecord(o.status) && str(o.status.phase)) || 'Active';
  if (def.kind === 'EndpointSlice') out.addressType = str(o.addressType) ?? '';
  return out;
}

/** matches tells whether an object passes a request's label and field selectors. */
export function matches(def: ResourceDef, opts: Pick<ListOptions, 'labels' | 'fields'>, o: Obj): boolean {
  if (opts.labels.length && !matchLabels(opts.labels, stringMap(isRecord(o.metadata) ? o.metadata.labels : undefined))) return false;
  return opts.fields.length === 0 || matchFields(opts.fields, selectableFields(def, o));
}
