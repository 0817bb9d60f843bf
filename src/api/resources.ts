import type { Kind } from '../store/types.js';

/** ResourceName is a resource the API serves, by its plural (URL) name. */
export type ResourceName = 'services' | 'endpointslices' | 'endpoints' | 'namespaces';

/** ResourceDef is what discovery says about a resource and what the handlers need to serve it. */
export interface ResourceDef {
  name: ResourceName;
  singularName: string;
  kind: Kind;
  listKind: string;
  /** API group: '' for the core group (/api/v1), else /apis/<group>/v1. */
  group: '' | 'discovery.k8s.io';
  version: 'v1';
  /** apiVersion of the objects: v1 or discovery.k8s.io/v1. */
  apiVersion: string;
  namespaced: boolean;
  verbs: readonly string[];
  shortNames: readonly string[];
  categories: readonly string[];
  /** Subresources served (services/status, namespaces/status). */
  subresources: readonly string[];
  /** A view computed from other objects: no writes. */
  readOnly: boolean;
  /** The apiserver returns the deleted object (true) or a Status Success (false) on DELETE. */
  returnDeletedObject: boolean;
  /** Field selectors the resource accepts besides metadata.name and metadata.namespace. */
  extraFields: readonly string[];
}

const WRITE_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] as const;

/** RESOURCES lists every served resource, in discovery order. */
export const RESOURCES: readonly ResourceDef[] = [
  {
    name: 'services', singularName: 'service', kind: 'Service', listKind: 'ServiceList', group: '', version: 'v1', apiVersion: 'v1',
    namespaced: true, verbs: WRITE_VERBS, shortNames: ['svc'], categories: ['all'], subresources: ['status'], readOnly: false,
    returnDeletedObject: true, extraFields: [],
  },
  {
    name: 'endpoints', singularName: 'endpoints', kind: 'Endpoints', listKind: 'EndpointsList', group: '', version: 'v1', apiVersion: 'v1',
    namespaced: true, verbs: ['get', 'list', 'watch'], shortNames: ['ep'], categories: [], subresources: [], readOnly: true,
    returnDeletedObject: false, extraFields: [],
  },
  {
    name: 'namespaces', singularName: 'namespace', kind: 'Namespace', listKind: 'NamespaceList', group: '', version: 'v1', apiVersion: 'v1',
    namespaced: false, verbs: WRITE_VERBS, shortNames: ['ns'], categories: [], subresources: ['status'], readOnly: false,
    returnDeletedObject: true, extraFields: ['status.phase'],
  },
  {
    name: 'endpointslices', singularName: 'endpointslice', kind: 'EndpointSlice', listKind: 'EndpointSliceList', group: 'discovery.k8s.io', version: 'v1',
    apiVersion: 'discovery.k8s.io/v1', namespaced: true, verbs: WRITE_VERBS, shortNames: [], categories: [], subresources: [], readOnly: false,
    returnDeletedObject: false, extraFields: ['addressType'],
  },
];

/** findResource looks a resource up by group and plural name. */
export function findResource(group: string, name: string): ResourceDef | undefined {
  return RESOURCES.find((r) => r.group === group && r.name === name);
}

/** resourceOfKind gives the resource that serves a kind. */
export function resourceOfKind(kind: Kind): ResourceDef {
  const def = RESOURCES.find((r) => r.kind === kind);
  if (!def) throw new Error(`no resource serves kind ${kind}`);
  return def;
}

/** qualifiedResource is how error messages name a resource: services, endpointslices.discovery.k8s.io. */
export function qualifiedResource(def: ResourceDef): string {
  return def.group ? `${def.name}.${def.group}` : def.name;
}

/** qualifiedKind is how Invalid errors name a kind: Service, EndpointSlice.discovery.k8s.io. */
export function qualifiedKind(def: ResourceDef): string {
  return def.group ? `${def.kind}.${def.group}` : def.kind;
}

/** BUILTIN_NAMESPACES exist in every zone, as in every Kubernetes cluster. */
export const BUILTIN_NAMESPACES: readonly string[] = ['default', 'kube-public', 'kube-system'];
