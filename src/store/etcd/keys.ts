import type { Kind, ObjectKey } from '../types.js';

/**
 * The etcd key layout, one place for it (src/store/etcd/README.md documents it):
 *   <prefix>/zones/<zone>                                   zone settings (JSON, the _settings.yaml schema)
 *   <prefix>/registry/<zone>/<resource>/<namespace>/<name>  an object (JSON, without resourceVersion)
 *   <prefix>/registry/<zone>/namespaces/<name>              a Namespace
 *   <prefix>/allocations/<zone>/<what>/<value>              reservations (ClusterIPs, NodePorts)
 *   <prefix>/sync                                           a marker sync() writes and waits to see
 * Kubernetes names and cluster domains cannot contain "/", so every key parses back unambiguously.
 */

/** The resource (URL) name of each kind, as the Kubernetes API and its etcd keys spell it. */
export const RESOURCES: Readonly<Record<Kind, string>> = {
  Service: 'services',
  EndpointSlice: 'endpointslices',
  Endpoints: 'endpoints',
  Namespace: 'namespaces',
};

const KINDS = new Map<string, Kind>(Object.entries(RESOURCES).map(([k, r]) => [r, k as Kind]));

/** normalizePrefix makes a key prefix canonical: a leading "/", no trailing "/" ("" stays ""). */
export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, '');
  return trimmed === '' ? '' : trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

/** KeyLayout builds and parses the keys under one prefix. */
export class KeyLayout {
  /** The prefix of every key svcdns reads or writes, with its trailing "/". */
  readonly root: string;
  private readonly registryRoot: string;
  private readonly zonesRoot: string;

  constructor(prefix: string) {
    this.root = `${normalizePrefix(prefix)}/`;
    this.registryRoot = `${this.root}registry/`;
    this.zonesRoot = `${this.root}zones/`;
  }

  /** listed are the prefixes a replica lists: objects and zone settings (not reservations). */
  listed(): string[] {
    return [this.registryRoot, this.zonesRoot];
  }

  /** zone is the key of a zone's settings. */
  zone(domain: string): string {
    return `${this.zonesRoot}${domain}`;
  }

  /** object is the key of an object of a zone. */
  object(zone: string, key: ObjectKey): string {
    const resource = RESOURCES[key.kind];
    return key.kind === 'Namespace' ? `${this.registryRoot}${zone}/${resource}/${key.name}` : `${this.registryRoot}${zone}/${resource}/${key.namespace}/${key.name}`;
  }

  /** zoneObjects is the prefix of every object of a zone. */
  zoneObjects(zone: string): string {
    return `${this.registryRoot}${zone}/`;
  }

  /** allocation is the key that reserves a value (an IP, a port) of a zone, e.g. what = "clusterip". */
  allocation(zone: string, what: string, value: string): string {
    return `${this.root}allocations/${zone}/${what}/${value}`;
  }

  /** syncMarker is the key sync() writes to know when the watch has caught up. */
  syncMarker(): string {
    return `${this.root}sync`;
  }

  /** parse tells what a key under the prefix is; null for keys svcdns does not use. */
  parse(key: string): ParsedKey | null {
    if (key.startsWith(this.zonesRoot)) {
      const zone = key.slice(this.zonesRoot.length);
      return zone && !zone.includes('/') ? { type: 'zone', zone } : null;
    }
    if (!key.startsWith(this.registryRoot)) return null;
    const parts = key.slice(this.registryRoot.length).split('/');
    const [zone, resource] = parts;
    const kind = resource === undefined ? undefined : KINDS.get(resource);
    if (!zone || !kind) return null;
    if (kind === 'Namespace') return parts.length === 3 && parts[2] ? { type: 'object', zone, key: { kind, namespace: '', name: parts[2] } } : null;
    return parts.length === 4 && parts[2] && parts[3] ? { type: 'object', zone, key: { kind, namespace: parts[2], name: parts[3] } } : null;
  }
}

/** ParsedKey is what a key holds: a zone's settings or an object. */
export type ParsedKey = { type: 'zone'; zone: string } | { type: 'object'; zone: string; key: ObjectKey };
