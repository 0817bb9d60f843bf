import { parseIP } from '../../net/ip.js';
import type { Origin, Service, ServicePort, ServiceType } from '../model.js';
import { Fields, describe, type Path } from './fields.js';
import type { ConvertContext } from './convert.js';

const TYPES: readonly ServiceType[] = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
/** The legacy annotation of the DNS spec (section 2.1): unready endpoints count as ready. */
export const TOLERATE_UNREADY = 'service.alpha.kubernetes.io/tolerate-unready-endpoints';

/** convertService validates a v1 Service and reduces it to the model. */
export function convertService(
  f: Fields,
  meta: { namespace: string; name: string; annotations: Record<string, unknown> },
  raw: Record<string, unknown>,
  origin: Origin,
  ctx: ConvertContext,
): Service | undefined {
  const spec = f.record(raw.spec, ['spec']) ?? {};
  const typeRaw = spec.type ?? 'ClusterIP';
  const type = TYPES.find((t) => t === typeRaw);
  if (!type) f.fail(['spec', 'type'], `must be one of ${TYPES.join(', ')}, not ${describe(typeRaw)}`);

  const clusterIP = f.string(spec.clusterIP, ['spec', 'clusterIP']) ?? '';
  const clusterIPs = readClusterIPs(f, spec, clusterIP);
  const headless = (clusterIP || clusterIPs.written[0]) === 'None';

  let externalName: string | undefined;
  if (type === 'ExternalName') {
    const target = f.string(spec.externalName, ['spec', 'externalName'], true);
    // A trailing dot is common in hand-written manifests; the name is absolute either way.
    const bare = target?.replace(/\.$/, '').toLowerCase();
    if (bare !== undefined) externalName = f.subdomain(bare, ['spec', 'externalName']);
  }

  const ports = readPorts(f, spec, ctx, type === 'ExternalName');
  const publishNotReady =
    (f.bool(spec.publishNotReadyAddresses, ['spec', 'publishNotReadyAddresses']) ?? false) ||
    meta.annotations[TOLERATE_UNREADY] === 'true';

  if (!type || f.problems.length) return undefined;
  return {
    namespace: meta.namespace,
    name: meta.name,
    type,
    clusterIP: clusterIP || (clusterIPs.written[0] ?? ''),
    clusterIPs: type === 'ExternalName' || headless ? [] : clusterIPs.canonical,
    headless: headless && type !== 'ExternalName',
    ...(externalName !== undefined ? { externalName } : {}),
    ports,
    publishNotReady,
    origin,
  };
}

function readClusterIPs(f: Fields, spec: Record<string, unknown>, clusterIP: string) {
  const written: string[] = [];
  const canonical: string[] = [];
  const list = f.list(spec.clusterIPs, ['spec', 'clusterIPs']);
  list.forEach((v, i) => {
    const s = f.string(v, ['spec', 'clusterIPs', i], true);
    if (s !== undefined) written.push(s);
  });
  if (clusterIP && written.length && written[0] !== clusterIP) {
    f.fail(['spec', 'clusterIPs', 0], `must match spec.clusterIP (${clusterIP}), not ${written[0]}`);
  }
  const all = written.length ? written : clusterIP ? [clusterIP] : [];
  if (all.length > 2) f.fail(['spec', 'clusterIPs'], 'may hold at most two addresses, one per IP family');
  if (all[0] === 'None') {
    if (all.length > 1) f.fail(['spec', 'clusterIPs'], 'must hold only "None" for a headless Service');
    return { written: all, canonical };
  }
  const families = new Set<string>();
  all.forEach((s, i) => {
    const ip = parseIP(s);
    const path: Path = written.length ? ['spec', 'clusterIPs', i] : ['spec', 'clusterIP'];
    if (!ip) return f.fail(path, `must be a valid IP address or "None", not ${JSON.stringify(s)}`);
    if (families.has(ip.family)) return f.fail(path, `holds a second ${ip.family} address; dual-stack needs one of each family`);
    families.add(ip.family);
    canonical.push(ip.text);
  });
  return { written: all, canonical };
}

function readPorts(f: Fields, spec: Record<string, unknown>, ctx: ConvertContext, externalName: boolean): ServicePort[] {
  const list = f.list(spec.ports, ['spec', 'ports']);
  const ports: ServicePort[] = [];
  const names = new Set<string>();
  const keys = new Set<string>();
  list.forEach((raw, i) => {
    const at = (k: string): Path => ['spec', 'ports', i, k];
    const p = f.record(raw, ['spec', 'ports', i], true);
    if (!p) return;
    const name = f.portName(p.name, at('name'));
    const port = f.port(p.port, at('port'));
    const protocol = f.protocol(p.protocol, at('protocol'));
    const nodePort = f.port(p.nodePort, at('nodePort'), false);
    if (nodePort !== undefined && (nodePort < ctx.nodePortRange[0] || nodePort > ctx.nodePortRange[1])) {
      f.fail(at('nodePort'), `${nodePort} is outside the zone's NodePort range ${ctx.nodePortRange[0]}-${ctx.nodePortRange[1]}`);
    }
    if (list.length > 1 && name === '' && !externalName) f.fail(at('name'), 'is required when a Service has more than one port');
    if (name !== '' && names.has(name)) f.fail(at('name'), `${JSON.stringify(name)} is used by another port of this Service`);
    names.add(name);
    if (port === undefined) return;
    const key = `${port}/${protocol}`;
    if (keys.has(key)) f.fail(at('port'), `${key} is listed twice`);
    keys.add(key);
    ports.push({ name, port, protocol, ...(nodePort !== undefined ? { nodePort } : {}) });
  });
  return ports;
}
