import type { Origin, RegistryObject } from '../model.js';
import { convertEndpointSlice, convertEndpoints } from './endpoints.js';
import { Fields, describe, type FieldProblem, type Path } from './fields.js';
import { convertService } from './service.js';

/** ConvertContext carries the zone settings that validation depends on. */
export interface ConvertContext {
  nodePortRange: readonly [number, number];
}

/** ConvertedObject is one valid object: its model and the object as written. */
export interface ConvertedObject {
  model: RegistryObject;
  raw: Record<string, unknown>;
  /** Index in the document's `items` when the document is a List. */
  item?: number;
}

/** Converted is what one document gave: objects, problems (with paths) and kinds it ignored. */
export interface Converted {
  objects: ConvertedObject[];
  problems: FieldProblem[];
  /** Kinds that are not registry kinds (ConfigMap, Deployment...), kept out of DNS. */
  ignored: string[];
}

const KINDS: Record<string, readonly string[]> = {
  Service: ['v1'],
  Endpoints: ['v1'],
  Namespace: ['v1'],
  EndpointSlice: ['discovery.k8s.io/v1', 'discovery.k8s.io/v1beta1'],
};

/** convertDocument turns one parsed YAML/JSON document (an object or a List of them) into registry objects. */
export function convertDocument(doc: unknown, origin: Origin, ctx: ConvertContext): Converted {
  const out: Converted = { objects: [], problems: [], ignored: [] };
  if (doc === null || doc === undefined) return out; // an empty document, e.g. after a trailing ---
  convertInto(out, doc, [], origin, ctx);
  return out;
}

function convertInto(out: Converted, doc: unknown, prefix: Path, origin: Origin, ctx: ConvertContext, item?: number): void {
  const f = new Fields();
  const obj = f.record(doc, prefix, true);
  if (!obj) return void out.problems.push(...f.problems);
  const kind = obj.kind;
  const apiVersion = obj.apiVersion;
  if (typeof kind !== 'string' || typeof apiVersion !== 'string') {
    out.problems.push({ path: prefix, message: 'is not a Kubernetes object: it needs string fields apiVersion and kind' });
    return;
  }
  if (kind === 'List' || (kind.endsWith('List') && Array.isArray(obj.items))) {
    f.list(obj.items, [...prefix, 'items']).forEach((item, i) => convertInto(out, item, [...prefix, 'items', i], origin, ctx, i));
    out.problems.push(...f.problems);
    return;
  }
  const versions = KINDS[kind];
  if (!versions) {
    out.ignored.push(kind);
    return;
  }
  if (!versions.includes(apiVersion)) {
    out.problems.push({ path: [...prefix, 'apiVersion'], message: `${kind} must have apiVersion ${versions.join(' or ')}, not ${describe(apiVersion)}` });
    return;
  }
  const scoped = new Fields();
  const object = convertKind(scoped, kind, obj, origin, ctx);
  out.problems.push(...scoped.problems.map((p) => ({ ...p, path: [...prefix, ...p.path] })));
  if (object) out.objects.push({ model: object, raw: obj, ...(item !== undefined ? { item } : {}) });
}

function convertKind(f: Fields, kind: string, obj: Record<string, unknown>, origin: Origin, ctx: ConvertContext): RegistryObject | undefined {
  const metadata = f.record(obj.metadata, ['metadata'], true) ?? {};
  const annotations = f.record(metadata.annotations, ['metadata', 'annotations']) ?? {};
  const labels = f.record(metadata.labels, ['metadata', 'labels']) ?? {};
  if (kind === 'Namespace') {
    const name = f.label(metadata.name, ['metadata', 'name']);
    return name && !f.problems.length ? { kind, value: { name, origin } } : undefined;
  }
  // Objects written without a namespace land in "default", as kubectl would put them.
  const namespace = f.label(metadata.namespace ?? 'default', ['metadata', 'namespace']);
  if (kind === 'Service') {
    const name = f.label(metadata.name, ['metadata', 'name'], { rfc1035: true });
    if (!name || !namespace) return undefined;
    const value = convertService(f, { namespace, name, annotations }, obj, origin, ctx);
    return value && { kind, value };
  }
  const name = f.subdomain(metadata.name, ['metadata', 'name']);
  if (!name || !namespace) return undefined;
  if (kind === 'EndpointSlice') {
    const value = convertEndpointSlice(f, { namespace, name, labels }, obj, origin);
    return value && { kind, value };
  }
  const value = convertEndpoints(f, { namespace, name, labels }, obj, origin);
  return value && { kind: 'Endpoints', value };
}
