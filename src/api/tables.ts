import { isRecord, str, stringMap, type Obj } from './json.js';
import type { ResourceDef } from './resources.js';

/** ColumnDefinition is a meta.k8s.io TableColumnDefinition. */
export interface ColumnDefinition {
  name: string;
  type: 'string' | 'integer';
  format: string;
  description: string;
  priority: number;
}

const col = (name: string, description: string, priority = 0, format = ''): ColumnDefinition => ({ name, type: 'string', format, description, priority });
const NAME = col('Name', 'Name must be unique within a namespace.', 0, 'name');
const AGE = col('Age', 'CreationTimestamp is a timestamp representing the server time when this object was created.');

/** The columns kubectl prints for each resource, as the API server's printers define them (pkg/printers/internalversion). */
const COLUMNS: Record<ResourceDef['name'], ColumnDefinition[]> = {
  services: [
    NAME,
    col('Type', 'type determines how the Service is exposed.'),
    col('Cluster-IP', 'clusterIP is the IP address of the service.'),
    col('External-IP', 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'),
    col('Port(s)', 'The list of ports that are exposed by this service.'),
    AGE,
    col('Selector', 'Route service traffic to pods with label keys and values matching this selector.', 1),
  ],
  endpointslices: [
    NAME,
    col('AddressType', 'addressType specifies the type of address carried by this EndpointSlice.'),
    col('Ports', 'ports specifies the list of network ports exposed by each endpoint in this slice.'),
    col('Endpoints', 'endpoints is a list of unique endpoints in this slice.'),
    AGE,
  ],
  endpoints: [NAME, col('Endpoints', 'Endpoints is the list of endpoints of the Service.'), AGE],
  namespaces: [NAME, col('Status', 'The status of the namespace'), AGE],
};

/**
 * humanDuration renders an age as kubectl does (apimachinery util/duration.HumanDuration):
 * "45s", "5m10s", "3h", "2d4h", "3y12d".
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000); // Go truncates toward zero
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365;
    return days === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${days}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

function age(o: Obj, now: number): string {
  const created = isRecord(o.metadata) ? str(o.metadata.creationTimestamp) : undefined;
  const t = created ? Date.parse(created) : NaN;
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t);
}

/** formatLabels renders a label map as "a=b,c=d" (sorted), or "<none>". */
export function formatLabels(m: Record<string, string>): string {
  const keys = Object.keys(m).sort();
  return keys.length ? keys.map((k) => `${k}=${m[k]}`).join(',') : '<none>';
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** More than `max` entries print as "a,b,c + 2 more...", as kubectl's listWithMoreString. */
function withMore(items: string[], max = 3, empty = '<unset>'): string {
  if (items.length === 0) return empty;
  const shown = items.slice(0, max).join(',');
  return items.length > max ? `${shown} + ${items.length - max} more...` : shown;
}

function serviceCells(o: Obj): unknown[] {
  const spec = isRecord(o.spec) ? o.spec : {};
  const type = str(spec.type) ?? 'ClusterIP';
  const ips = list(spec.clusterIPs).filter((x): x is string => typeof x === 'string');
  const externalIPs = list(spec.externalIPs).filter((x): x is string => typeof x === 'string');
  let external: string;
  if (type === 'ExternalName') external = str(spec.externalName) ?? '';
  else if (type === 'LoadBalancer') {
    const status = isRecord(o.status) && isRecord(o.status.loadBalancer) ? o.status.loadBalancer : {};
    const lb = list(status.ingress).filter(isRecord).map((i) => str(i.ip) || str(i.hostname) || '').filter(Boolean);
    const all = [...lb, ...externalIPs];
    external = all.length ? all.join(',') : '<pending>';
  } else external = externalIPs.length ? externalIPs.join(',') : '<none>';
  const ports = list(spec.ports)
    .filter(isRecord)
    .map((p) => (typeof p.nodePort === 'number' && p.nodePort > 0 ? `${String(p.port)}:${p.nodePort}/${str(p.protocol) ?? 'TCP'}` : `${String(p.port)}/${str(p.protocol) ?? 'TCP'}`));
  return [type, ips[0] ?? '<none>', external, ports.length ? ports.join(',') : '<none>'];
}

function sliceCells(o: Obj): unknown[] {
  const ports = list(o.ports)
    .filter(isRecord)
    .map((p) => (typeof p.port === 'number' ? String(p.port) : (str(p.name) ?? '*')));
  const addresses = list(o.endpoints)
    .filter(isRecord)
    .flatMap((e) => list(e.addresses).filter((a): a is string => typeof a === 'string'));
  return [str(o.addressType) ?? '', withMore(ports), withMore(addresses)];
}

function endpointsCells(o: Obj): unknown[] {
  const subsets = list(o.subsets).filter(isRecord);
  if (subsets.length === 0) return ['<none>'];
  const out: string[] = [];
  for (const s of subsets) {
    const addrs = list(s.addresses).filter(isRecord).map((a) => str(a.ip) ?? '');
    const ports = list(s.ports).filter(isRecord);
    if (ports.length === 0) out.push(...addrs);
    for (const p of ports) for (const ip of addrs) out.push(ip.includes(':') ? `[${ip}]:${String(p.port)}` : `${ip}:${String(p.port)}`);
  }
  return [withMore(out, 3, '')];
}

function cellsOf(def: ResourceDef, o: Obj, now: number): unknown[] {
  const name = isRecord(o.metadata) ? (str(o.metadata.name) ?? '') : '';
  switch (def.name) {
    case 'services': {
      const [type, ip, ext, ports] = serviceCells(o);
      const selector = formatLabels(stringMap(isRecord(o.spec) ? o.spec.selector : undefined));
      return [name, type, ip, ext, ports, age(o, now), selector];
    }
    case 'endpointslices':
      return [name, ...sliceCells(o), age(o, now)];
    case 'endpoints':
      return [name, ...endpointsCells(o), age(o, now)];
    case 'namespaces':
      return [name, (isRecord(o.status) && str(o.status.phase)) || 'Active', age(o, now)];
  }
}

/** IncludeObject is the Table request's includeObject: the row's object as metadata only (default), whole, or none. */
export type IncludeObject = 'Metadata' | 'Object' | 'None';

/** partialObject is the PartialObjectMetadata kubectl reads a row's namespace and labels from. */
export function partialObject(o: Obj, metaVersion: 'v1' | 'v1beta1'): Obj {
  return { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${metaVersion}`, metadata: o.metadata ?? {} };
}

/**
 * toTable renders objects as a meta.k8s.io Table, the form `kubectl get` asks for: one row per
 * object with its cells and (by default) its metadata, which kubectl needs for the NAMESPACE
 * column and --show-labels.
 */
export function toTable(def: ResourceDef, objects: readonly Obj[], opts: { now: number; resourceVersion: string; includeObject: IncludeObject; metaVersion: 'v1' | 'v1beta1' }): Obj {
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${opts.metaVersion}`,
    metadata: { resourceVersion: opts.resourceVersion },
    columnDefinitions: COLUMNS[def.name],
    rows: objects.map((o) => ({
      cells: cellsOf(def, o, opts.now),
      ...(opts.includeObject === 'None' ? {} : { object: opts.includeObject === 'Object' ? o : partialObject(o, opts.metaVersion) }),
    })),
  };
}
