import { RESOURCES, type ResourceDef } from './resources.js';

/** The Kubernetes version the API reports: kubectl's gcloud dispatcher runs the matching client (1.27-1.33). */
export const KUBE_VERSION = { major: '1', minor: '33', gitVersion: 'v1.33.0' } as const;

/** versionInfo is the /version document (apimachinery version.Info). */
export function versionInfo(svcdnsVersion: string): Record<string, string> {
  return {
    major: KUBE_VERSION.major,
    minor: KUBE_VERSION.minor,
    gitVersion: `${KUBE_VERSION.gitVersion}+svcdns.${svcdnsVersion}`,
    gitCommit: '',
    gitTreeState: 'clean',
    buildDate: '1970-01-01T00:00:00Z',
    goVersion: `node${process.versions.node}`,
    compiler: 'node',
    platform: `${process.platform}/${process.arch}`,
  };
}

/** apiVersions is GET /api (the legacy core group's versions). */
export function apiVersions(serverAddress: string): Record<string, unknown> {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

const DISCOVERY_GV = { groupVersion: 'discovery.k8s.io/v1', version: 'v1' };

/** apiGroup is GET /apis/discovery.k8s.io. */
export function apiGroup(): Record<string, unknown> {
  return { kind: 'APIGroup', apiVersion: 'v1', name: 'discovery.k8s.io', versions: [DISCOVERY_GV], preferredVersion: DISCOVERY_GV };
}

/** apiGroupList is GET /apis: the named groups (the core group is under /api). */
export function apiGroupList(): Record<string, unknown> {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [{ name: 'discovery.k8s.io', versions: [DISCOVERY_GV], preferredVersion: DISCOVERY_GV }] };
}

function entry(r: ResourceDef): Record<string, unknown> {
  return {
    name: r.name,
    singularName: r.singularName,
    namespaced: r.namespaced,
    kind: r.kind,
    verbs: r.verbs,
    ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
    ...(r.categories.length ? { categories: r.categories } : {}),
  };
}

/** apiResourceList is GET /api/v1 or /apis/discovery.k8s.io/v1: the resources of the group version, with subresources. */
export function apiResourceList(group: '' | 'discovery.k8s.io'): Record<string, unknown> {
  const resources = RESOURCES.filter((r) => r.group === group).flatMap((r) => [
    entry(r),
    ...r.subresources.map((sub) => ({ name: `${r.name}/${sub}`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] })),
  ]);
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/v1` : 'v1', resources };
}

/**
 * OPENAPI_V2_STUB is the smallest OpenAPI v2 document in protobuf (openapi_v2.Document{swagger:
 * "2.0", info:{title:"mini", version:"v1"}}): kubectl's default client-side validation downloads
 * /openapi/v2 before every write and fails without it; with no definitions in it, kubectl finds
 * no schema and leaves validation to the server.
 */
export const OPENAPI_V2_STUB = Buffer.from([0x0a, 0x03, 0x32, 0x2e, 0x30, 0x12, 0x0a, 0x0a, 0x04, 0x6d, 0x69, 0x6e, 0x69, 0x12, 0x02, 0x76, 0x31]);
