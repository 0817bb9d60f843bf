import { nthAddress, parseCidr, parseIP, type Cidr } from '../net/ip.js';
import { Fields, describe, type FieldProblem } from './sources/fields.js';

/** The file in a zone folder that overrides the zone's settings. */
export const SETTINGS_FILE = '_settings.yaml';

/** ZoneSettings are the per-domain knobs; defaults follow the DNS spec, CoreDNS and kubeadm. */
export interface ZoneSettings {
  /** The cluster domain, e.g. cluster.local (the folder name). */
  domain: string;
  /** TTL of every record (CoreDNS `ttl`, default 5, 0-3600); also the SOA minimum. */
  ttl: number;
  soa: { refresh: number; retry: number; expire: number; minimum: number };
  /** Service CIDRs: allocation range, and the reverse zones answered authoritatively. */
  serviceCIDRs: Cidr[];
  /** Pod CIDRs: reverse zones answered authoritatively (none by default). */
  podCIDRs: Cidr[];
  /** The DNS service address written into resolv.conf and served for ns.dns.<zone>. */
  dnsServiceIP: string;
  nodePortRange: readonly [number, number];
  /** Pod records a-b-c-d.<ns>.pod.<zone>: "insecure" (kubeadm's default Corefile) or "disabled". */
  pods: 'insecure' | 'disabled';
  /** CoreDNS endpoint_pod_names: an endpoint without hostname is named after its pod. */
  endpointPodNames: boolean;
}

const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';

/** defaultSettings gives a zone's settings when its folder has no settings file. */
export function defaultSettings(domain: string): ZoneSettings {
  const cidr = parseCidr(DEFAULT_SERVICE_CIDR) as Cidr;
  return {
    domain,
    ttl: 5,
    soa: { refresh: 7200, retry: 1800, expire: 86400, minimum: 5 },
    serviceCIDRs: [cidr],
    podCIDRs: [],
    dnsServiceIP: nthAddress(cidr, 10),
    nodePortRange: [30000, 32767],
    pods: 'insecure',
    endpointPodNames: false,
  };
}

const KEYS = ['ttl', 'soa', 'serviceCIDRs', 'podCIDRs', 'dnsServiceIP', 'nodePortRange', 'pods', 'endpointPodNames'];

/** parseSettings validates a settings document (already parsed YAML) over the defaults. */
export function parseSettings(domain: string, raw: unknown): { settings: ZoneSettings; problems: FieldProblem[] } {
  const f = new Fields();
  const s = defaultSettings(domain);
  const obj = f.record(raw, []) ?? {};
  for (const key of Object.keys(obj)) if (!KEYS.includes(key)) f.fail([key], `is not a zone setting (known: ${KEYS.join(', ')})`);

  const ttl = integer(f, obj.ttl, 'ttl', 0, 3600);
  if (ttl !== undefined) s.ttl = s.soa.minimum = ttl;
  const soa = f.record(obj.soa, ['soa']) ?? {};
  for (const key of Object.keys(soa)) {
    if (!(key in s.soa)) f.fail(['soa', key], 'is not an SOA setting (known: refresh, retry, expire, minimum)');
    const v = integer(f, soa[key], `soa.${key}`, 0, 2 ** 31 - 1);
    if (v !== undefined && key in s.soa) s.soa[key as keyof ZoneSettings['soa']] = v;
  }
  const cidrs = (key: 'serviceCIDRs' | 'podCIDRs') =>
    f.list(obj[key], [key]).flatMap((v, i) => {
      const c = typeof v === 'string' ? parseCidr(v) : null;
      if (!c) f.fail([key, i], `must be a CIDR such as 10.96.0.0/12, not ${describe(v)}`);
      return c ? [c] : [];
    });
  if (obj.serviceCIDRs !== undefined) {
    s.serviceCIDRs = cidrs('serviceCIDRs');
    const first = s.serviceCIDRs[0];
    if (first) s.dnsServiceIP = nthAddress(first, 10);
  }
  if (obj.podCIDRs !== undefined) s.podCIDRs = cidrs('podCIDRs');
  if (obj.dnsServiceIP !== undefined) {
    const ip = f.ip(obj.dnsServiceIP, ['dnsServiceIP']);
    if (ip) s.dnsServiceIP = ip.text;
  }
  if (obj.nodePortRange !== undefined) {
    const m = /^(\d+)-(\d+)$/.exec(String(obj.nodePortRange));
    const lo = Number(m?.[1]);
    const hi = Number(m?.[2]);
    if (!m || lo < 1 || hi > 65535 || lo > hi) f.fail(['nodePortRange'], `must be LOW-HIGH within 1-65535, such as 30000-32767, not ${describe(obj.nodePortRange)}`);
    else s.nodePortRange = [lo, hi];
  }
  if (obj.pods !== undefined) {
    if (obj.pods === 'insecure' || obj.pods === 'disabled') s.pods = obj.pods;
    else f.fail(['pods'], `must be "insecure" or "disabled", not ${describe(obj.pods)}`);
  }
  const epn = f.bool(obj.endpointPodNames, ['endpointPodNames']);
  if (epn !== undefined) s.endpointPodNames = epn;
  if (!parseIP(s.dnsServiceIP)) f.fail(['dnsServiceIP'], 'could not be derived: set it or serviceCIDRs');
  return { settings: s, problems: f.problems };
}

function integer(f: Fields, v: unknown, path: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    return f.fail([path], `must be a whole number between ${min} and ${max}, not ${describe(v)}`);
  }
  return v;
}
