import type { Endpoint, EndpointGroup, EndpointPort, EndpointSlice, LegacyEndpoints, Origin } from '../model.js';
import { Fields, describe, type Path } from './fields.js';

/** The label that joins an EndpointSlice to its Service (in the same namespace). */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

type Meta = { namespace: string; name: string; labels: Record<string, unknown> };

/** convertEndpointSlice validates a discovery.k8s.io/v1 EndpointSlice. */
export function convertEndpointSlice(f: Fields, meta: Meta, raw: Record<string, unknown>, origin: Origin): EndpointSlice | undefined {
  const addressType = raw.addressType;
  if (addressType !== 'IPv4' && addressType !== 'IPv6' && addressType !== 'FQDN') {
    f.fail(['addressType'], `must be IPv4, IPv6 or FQDN, not ${describe(addressType)}`);
    return undefined;
  }
  const serviceName = f.string(meta.labels[SERVICE_NAME_LABEL], ['metadata', 'labels', SERVICE_NAME_LABEL]);
  const ports = readPorts(f, raw.ports, ['ports']);
  const endpoints: Endpoint[] = [];
  f.list(raw.endpoints, ['endpoints']).forEach((v, i) => {
    const at: Path = ['endpoints', i];
    const e = f.record(v, at, true);
    if (!e) return;
    const addresses: string[] = [];
    const list = f.list(e.addresses, [...at, 'addresses']);
    if (list.length === 0) f.fail([...at, 'addresses'], 'must hold at least one address');
    list.forEach((a, j) => {
      const path: Path = [...at, 'addresses', j];
      if (addressType === 'FQDN') {
        if (f.subdomain(a, path) !== undefined) addresses.push(String(a));
        return;
      }
      const ip = f.ip(a, path);
      if (ip && ip.family !== addressType) f.fail(path, `${ip.text} is not an ${addressType} address (addressType)`);
      else if (ip) addresses.push(ip.text);
    });
    const conditions = f.record(e.conditions, [...at, 'conditions']) ?? {};
    // EndpointConditions: an unknown (absent) ready condition is interpreted as ready.
    const ready = f.bool(conditions.ready, [...at, 'conditions', 'ready']) ?? true;
    const hostname = f.label(e.hostname, [...at, 'hostname'], { required: false });
    const podName = podOf(f, e.targetRef, [...at, 'targetRef']);
    endpoints.push({ addresses, ready, ...(hostname ? { hostname } : {}), ...(podName ? { podName } : {}) });
  });
  if (f.problems.length) return undefined;
  return {
    namespace: meta.namespace,
    name: meta.name,
    ...(serviceName ? { serviceName } : {}),
    addressType,
    group: { ports, endpoints },
    origin,
  };
}

/** convertEndpoints validates a legacy v1 Endpoints object: each subset pairs its addresses with its ports. */
export function convertEndpoints(f: Fields, meta: Meta, raw: Record<string, unknown>, origin: Origin): LegacyEndpoints | undefined {
  const groups: EndpointGroup[] = [];
  f.list(raw.subsets, ['subsets']).forEach((v, i) => {
    const s = f.record(v, ['subsets', i], true);
    if (!s) return;
    const endpoints: Endpoint[] = [];
    const read = (key: 'addresses' | 'notReadyAddresses', ready: boolean) =>
      f.list(s[key], ['subsets', i, key]).forEach((a, j) => {
        const at: Path = ['subsets', i, key, j];
        const addr = f.record(a, at, true);
        if (!addr) return;
        const ip = f.ip(addr.ip, [...at, 'ip']);
        const hostname = f.label(addr.hostname, [...at, 'hostname'], { required: false });
        const podName = podOf(f, addr.targetRef, [...at, 'targetRef']);
        if (ip) endpoints.push({ addresses: [ip.text], ready, ...(hostname ? { hostname } : {}), ...(podName ? { podName } : {}) });
      });
    read('addresses', true);
    read('notReadyAddresses', false);
    groups.push({ ports: readPorts(f, s.ports, ['subsets', i, 'ports']), endpoints });
  });
  if (f.problems.length) return undefined;
  return { namespace: meta.namespace, name: meta.name, groups, origin };
}

function readPorts(f: Fields, v: unknown, path: Path): EndpointPort[] {
  const ports: EndpointPort[] = [];
  f.list(v, path).forEach((raw, i) => {
    const p = f.record(raw, [...path, i], true);
    if (!p) return;
    const name = f.string(p.name, [...path, i, 'name']) ?? '';
    const protocol = f.protocol(p.protocol, [...path, i, 'protocol']);
    // An EndpointSlice port without a number means "all ports"; it gives no SRV target port.
    const port = f.port(p.port, [...path, i, 'port'], false);
    if (port !== undefined) ports.push({ name, port, protocol });
  });
  return ports;
}

function podOf(f: Fields, v: unknown, path: Path): string | undefined {
  const ref = f.record(v, path);
  if (!ref || ref.kind !== 'Pod') return undefined;
  return f.string(ref.name, [...path, 'name']);
}
