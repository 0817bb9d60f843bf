/**
 * The variables kubelet injects into a container for the Services it can see, computed from a zone
 * view with no I/O. Rules from kubernetes pkg/kubelet/envvars/envvars.go (FromServices) and
 * getServiceEnvVarMap in pkg/kubelet/kubelet_pods.go; see README.md for the full table.
 */
import type { ZoneView } from '../registry/content.js';
import type { Service } from '../registry/model.js';
import { formatVariables, type EnvFormat } from './format.js';

/** The namespace of the master service, and its name (kubelet's masterServices set). */
export const MASTER_NAMESPACE = 'default';
/** The Service whose variables every pod gets, even with service links off. */
export const MASTER_SERVICE = 'kubernetes';

/** EnvOptions choose the pod the variables are for. */
export interface EnvOptions {
  namespace: string;
  /** The pod's enableServiceLinks (API default true). */
  serviceLinks?: boolean;
}

/** ServiceEnv is the variable map a pod would get, and what a user should hear about it. */
export interface ServiceEnv {
  /** Variable name to value, in the order they were produced (formats sort them). */
  vars: Map<string, string>;
  /** The namespace has a Namespace object or at least one Service in the zone. */
  namespaceExists: boolean;
  /** The Services that contributed, as namespace/name, in the order applied. */
  services: string[];
  /** Things kubelet would not report but a user should know (collisions, Services with no ports). */
  warnings: string[];
}

/** envPrefix is kubelet's makeEnvVariableName: upper-case, every "-" to "_" (a--b gives A__B). */
export function envPrefix(name: string): string {
  return name.toUpperCase().replace(/-/g, '_');
}

/** hasClusterIP is kubelet's IsServiceIPSet: spec.clusterIP neither empty nor "None". */
export function hasClusterIP(s: Service): boolean {
  // An ExternalName Service never has one (the API server forbids it); skip it even if a
  // hand-written manifest sets one, so the rule does not depend on manifest mistakes.
  return s.clusterIP !== '' && s.clusterIP !== 'None' && s.type !== 'ExternalName';
}

/** joinHostPort is Go's net.JoinHostPort: IPv6 hosts (they contain ":") are bracketed. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * serviceVariables lists one Service's variables as kubelet's FromServices does, in its order.
 * The host is spec.clusterIP exactly as written (kubelet copies it), never spec.clusterIPs[1].
 */
export function serviceVariables(s: Service): Array<[string, string]> {
  const prefix = envPrefix(s.name);
  const host = s.clusterIP;
  const out: Array<[string, string]> = [[`${prefix}_SERVICE_HOST`, host]];
  const first = s.ports[0];
  if (!first) return out; // only a manifest the API server would refuse has no ports (see serviceEnv)
  out.push([`${prefix}_SERVICE_PORT`, String(first.port)]);
  for (const p of s.ports) if (p.name !== '') out.push([`${prefix}_SERVICE_PORT_${envPrefix(p.name)}`, String(p.port)]);
  // Docker link variables (makeLinkVariables): the first port in spec order, not the lowest as
  // Docker chose, gets PREFIX_PORT; always `port`, never targetPort or nodePort.
  s.ports.forEach((p, i) => {
    const proto = p.protocol.toLowerCase();
    const url = `${proto}://${joinHostPort(host, p.port)}`;
    if (i === 0) out.push([`${prefix}_PORT`, url]);
    const pp = `${prefix}_PORT_${p.port}_${p.protocol.toUpperCase()}`;
    out.push([pp, url], [`${pp}_PROTO`, proto], [`${pp}_PORT`, String(p.port)], [`${pp}_ADDR`, host]);
  });
  return out;
}

// Zone views are immutable (a change builds a new snapshot), so a per-namespace index can be built
// once per zone and kept as long as the zone is: one pass over 100,000 Services costs tens of ms,
// a lookup nothing.
const byNamespaceCache = new WeakMap<ZoneView, Map<string, Service[]>>();

/** servicesByNamespace indexes a zone's Services that have a cluster IP by namespace (memoized per zone). */
export function servicesByNamespace(zone: ZoneView): ReadonlyMap<string, readonly Service[]> {
  let index = byNamespaceCache.get(zone);
  if (!index) {
    index = new Map();
    for (const { service: s } of zone.services) {
      if (!hasClusterIP(s)) continue;
      const list = index.get(s.namespace);
      if (list) list.push(s);
      else index.set(s.namespace, [s]);
    }
    byNamespaceCache.set(zone, index);
  }
  return index;
}

/**
 * visibleServices picks the Services a pod of `namespace` sees, as getServiceEnvVarMap does: those
 * of its namespace with a cluster IP when service links are on, plus default/kubernetes always;
 * keyed by name, so a `kubernetes` Service of the namespace itself replaces default's.
 */
export function visibleServices(zone: ZoneView, { namespace, serviceLinks = true }: EnvOptions): Service[] {
  const index = servicesByNamespace(zone);
  const byName = new Map<string, Service>();
  const master = index.get(MASTER_NAMESPACE)?.find((s) => s.name === MASTER_SERVICE);
  if (master) byName.set(master.name, master);
  if (serviceLinks) for (const s of index.get(namespace) ?? []) byName.set(s.name, s);
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** serviceEnv computes the variable map for a pod of a namespace. */
export function serviceEnv(zone: ZoneView, options: EnvOptions): ServiceEnv {
  const vars = new Map<string, string>();
  const owner = new Map<string, string>();
  const warnings: string[] = [];
  const services = visibleServices(zone, options);
  for (const s of services) {
    const id = `${s.namespace}/${s.name}`;
    if (s.ports.length === 0) warnings.push(`service ${id} has no ports (the API server would refuse it): only ${envPrefix(s.name)}_SERVICE_HOST is written`);
    for (const [key, value] of serviceVariables(s)) {
      const before = owner.get(key);
      // kubelet builds a map from Services in undefined order, so a colliding name has an
      // undefined winner; we apply Services by name (the later wins) and say so.
      if (before !== undefined && before !== id) warnings.push(`${key} is set by both ${before} and ${id}; ${id} wins (kubelet's choice would be undefined)`);
      vars.set(key, value);
      owner.set(key, id);
    }
  }
  return { vars, namespaceExists: zone.namespaces.has(options.namespace), services: services.map((s) => `${s.namespace}/${s.name}`), warnings };
}

/** RenderedEnv is an env file's text with the map it was written from. */
export interface RenderedEnv extends ServiceEnv {
  text: string;
}

/** renderEnv computes a pod's variables and writes them in a format: (zone, options) -> text. */
export function renderEnv(zone: ZoneView, options: EnvOptions & { format?: EnvFormat }): RenderedEnv {
  const env = serviceEnv(zone, options);
  return { ...env, text: formatVariables(env.vars, options.format ?? 'env') };
}
