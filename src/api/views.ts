import { createHash } from 'node:crypto';
import type { ZoneSettings } from '../registry/settings.js';
import { SERVICE_NAME_LABEL } from '../registry/sources/endpoints.js';
import type { ObjectCache } from '../store/cache.js';
import { kubeTime } from '../store/decorate.js';
import type { StoredObject } from '../store/types.js';
import { AllocationIndex } from './allocate.js';
import { clone, deepEqual, isRecord, str, stringMap, type Obj } from './json.js';
import { BUILTIN_NAMESPACES, type ResourceDef } from './resources.js';
import { presentService } from './services.js';

/** ViewContext is what reading the registry needs: the store's cache and the API zone. */
export interface ViewContext {
  cache: ObjectCache;
  zone: string;
  settings: ZoneSettings;
  /** When the server started: the creationTimestamp of built-in namespaces. */
  startedAt: number;
}

/** An object as the API shows it, with the revision it changed at. */
export interface Item {
  object: Obj;
  revision: number;
}

/** NAMESPACE_NAME_LABEL is set on every namespace, as Kubernetes has done since 1.21. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** derivedUid gives a stable uid to an object the registry computes (an implicit namespace, an Endpoints view). */
export function derivedUid(...parts: string[]): string {
  const h = createHash('sha1').update(parts.join('\u0000')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * present shows a stored object as the API server would: the served apiVersion and kind,
 * defaults filled (a Service written by hand gets type, protocol, targetPort, ipFamilies...),
 * Namespace status. The stored object is not changed.
 */
export function present(stored: StoredObject, def: ResourceDef, settings: ZoneSettings): Obj {
  const o = clone(stored.object) as Obj;
  o.apiVersion = def.apiVersion; // discovery.k8s.io/v1beta1 slices are served as v1
  o.kind = def.kind;
  if (def.kind === 'Service') presentService(o, AllocationIndex.families(settings.serviceCIDRs));
  if (def.kind === 'EndpointSlice') defaultSlice(o);
  if (def.kind === 'Namespace') presentNamespace(o);
  return o;
}

/** defaultSlice fills the defaults of an EndpointSlice: each port's protocol. */
export function defaultSlice(o: Obj): void {
  for (const p of Array.isArray(o.ports) ? o.ports : []) if (isRecord(p) && (p.protocol === undefined || p.protocol === '')) p.protocol = 'TCP';
}

/** presentNamespace adds what every namespace has: its name label, the kubernetes finalizer and phase Active. */
export function presentNamespace(o: Obj): void {
  const meta = isRecord(o.metadata) ? o.metadata : (o.metadata = {});
  const name = str(meta.name) ?? '';
  meta.labels = { ...stringMap(meta.labels), [NAMESPACE_NAME_LABEL]: name };
  const spec = isRecord(o.spec) ? o.spec : (o.spec = {});
  if (!Array.isArray(spec.finalizers)) spec.finalizers = ['kubernetes'];
  o.status = { ...(isRecord(o.status) ? o.status : {}), phase: 'Active' };
}

/** listItems lists a resource's objects in the zone (one namespace, or all), sorted by namespace and name. */
export function listItems(def: ResourceDef, ctx: ViewContext, namespace?: string): Item[] {
  if (def.kind === 'Namespace') return namespaces(ctx); // cluster-scoped
  if (def.kind === 'Endpoints') return endpointsViews(ctx, namespace);
  return ctx.cache.list(def.kind, namespace, ctx.zone).map((o) => ({ object: present(o, def, ctx.settings), revision: o.revision }));
}

/** getItem reads one object; undefined when it does not exist. */
export function getItem(def: ResourceDef, ctx: ViewContext, namespace: string, name: string): Item | undefined {
  if (def.kind === 'Namespace') return namespaces(ctx, name)[0];
  if (def.kind === 'Endpoints') return endpointsViews(ctx, namespace, name)[0];
  const o = ctx.cache.get(ctx.zone, def.kind, namespace, name);
  return o && { object: present(o, def, ctx.settings), revision: o.revision };
}

/**
 * namespaceExists: a namespace exists when a Namespace object names it, when it is built in
 * (default, kube-system, kube-public), or when any object of the zone lives in it, files included.
 */
export function namespaceExists(ctx: ViewContext, name: string): boolean {
  if (BUILTIN_NAMESPACES.includes(name) || ctx.cache.get(ctx.zone, 'Namespace', '', name)) return true;
  return ctx.cache.namespaceSize(ctx.zone, name) > 0;
}

function namespaces(ctx: ViewContext, only?: string): Item[] {
  const found = new Map<string, { revision: number; created?: string }>();
  const note = (name: string, revision: number, created?: string) => {
    if (only !== undefined && name !== only) return;
    const cur = found.get(name);
    const earliest = cur?.created && created ? (cur.created < created ? cur.created : created) : (cur?.created ?? created);
    found.set(name, { revision: Math.max(cur?.revision ?? 0, revision), ...(earliest ? { created: earliest } : {}) });
  };
  for (const n of BUILTIN_NAMESPACES) note(n, 0, kubeTime(ctx.startedAt));
  for (const kind of ['Service', 'EndpointSlice', 'Endpoints'] as const) {
    for (const o of ctx.cache.list(kind, undefined, ctx.zone)) note(o.key.namespace, o.revision, str(o.object.metadata.creationTimestamp));
  }
  const out: Item[] = [];
  const stored = new Map(ctx.cache.list('Namespace', undefined, ctx.zone).map((o) => [o.key.name, o]));
  const names = new Set([...found.keys(), ...[...stored.keys()].filter((n) => only === undefined || n === only)]);
  for (const name of [...names].sort()) {
    const s = stored.get(name);
    if (s) {
      const o = clone(s.object) as Obj;
      o.apiVersion = 'v1';
      o.kind = 'Namespace';
      presentNamespace(o);
      out.push({ object: o, revision: s.revision });
      continue;
    }
    const f = found.get(name)!;
    const o: Obj = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, uid: derivedUid(ctx.zone, 'Namespace', name), resourceVersion: String(f.revision || ctx.cache.revision), creationTimestamp: f.created ?? kubeTime(ctx.startedAt) },
    };
    presentNamespace(o);
    out.push({ object: o, revision: f.revision });
  }
  return out;
}

/**
 * endpointsViews gives v1 Endpoints: the stored ones, plus one computed from the EndpointSlices of
 * each Service that has slices and no stored Endpoints (what the endpoints controller would
 * write): ready addresses in `addresses`, the others in `notReadyAddresses`, one subset per port set.
 */
function endpointsViews(ctx: ViewContext, namespace?: string, only?: string): Item[] {
  const items = new Map<string, Item>();
  const def = { apiVersion: 'v1', kind: 'Endpoints' } as const;
  for (const o of ctx.cache.list('Endpoints', namespace, ctx.zone)) {
    if (only !== undefined && o.key.name !== only) continue;
    const obj = clone(o.object) as Obj;
    Object.assign(obj, def);
    items.set(`${o.key.namespace}/${o.key.name}`, { object: obj, revision: o.revision });
  }
  const slicesBy = new Map<string, StoredObject[]>();
  for (const s of ctx.cache.list('EndpointSlice', namespace, ctx.zone)) {
    const svc = stringMap(s.object.metadata.labels)[SERVICE_NAME_LABEL];
    if (!svc || (only !== undefined && svc !== only) || s.object.addressType === 'FQDN') continue;
    const key = `${s.key.namespace}/${svc}`;
    const list = slicesBy.get(key);
    if (list) list.push(s);
    else slicesBy.set(key, [s]);
  }
  for (const [key, slices] of slicesBy) {
    if (items.has(key)) continue;
    const [ns = '', name = ''] = key.split('/');
    const svc = ctx.cache.get(ctx.zone, 'Service', ns, name);
    if (!svc) continue;
    const revision = Math.max(svc.revision, ...slices.map((s) => s.revision));
    items.set(key, {
      revision,
      object: {
        ...def,
        metadata: {
          name,
          namespace: ns,
          uid: derivedUid(ctx.zone, 'Endpoints', ns, name),
          resourceVersion: String(revision),
          creationTimestamp: str(svc.object.metadata.creationTimestamp) ?? kubeTime(ctx.startedAt),
          ...(Object.keys(stringMap(svc.object.metadata.labels)).length ? { labels: stringMap(svc.object.metadata.labels) } : {}),
        },
        subsets: subsetsOf(slices),
      },
    });
  }
  return [...items.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}

function subsetsOf(slices: readonly StoredObject[]): Obj[] {
  const subsets: Array<{ ports: Obj[]; addresses: Obj[]; notReadyAddresses: Obj[] }> = [];
  for (const s of slices) {
    const ports = (Array.isArray(s.object.ports) ? s.object.ports : [])
      .filter(isRecord)
      .filter((p) => typeof p.port === 'number')
      .map((p) => ({ ...(str(p.name) ? { name: p.name } : {}), port: p.port, protocol: str(p.protocol) ?? 'TCP', ...(str(p.appProtocol) ? { appProtocol: p.appProtocol } : {}) }));
    let subset = subsets.find((x) => deepEqual(x.ports, ports));
    if (!subset) subsets.push((subset = { ports, addresses: [], notReadyAddresses: [] }));
    for (const e of Array.isArray(s.object.endpoints) ? s.object.endpoints.filter(isRecord) : []) {
      const ready = !(isRecord(e.conditions) && e.conditions.ready === false);
      for (const ip of Array.isArray(e.addresses) ? e.addresses.filter((a): a is string => typeof a === 'string') : []) {
        const addr: Obj = { ip, ...(str(e.hostname) ? { hostname: e.hostname } : {}), ...(str(e.nodeName) ? { nodeName: e.nodeName } : {}), ...(isRecord(e.targetRef) ? { targetRef: e.targetRef } : {}) };
        (ready ? subset.addresses : subset.notReadyAddresses).push(addr);
      }
    }
  }
  return subsets
    .filter((s) => s.addresses.length || s.notReadyAddresses.length)
    .map((s) => ({
      ...(s.addresses.length ? { addresses: s.addresses } : {}),
      ...(s.notReadyAddresses.length ? { notReadyAddresses: s.notReadyAddresses } : {}),
      ...(s.ports.length ? { ports: s.ports } : {}),
    }));
}
