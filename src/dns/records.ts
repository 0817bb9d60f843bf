import type { ServiceView, ZoneView } from '../registry/content.js';
import type { Endpoint, EndpointGroup } from '../registry/model.js';
import { cidrContains, parseIP, type Cidr } from '../net/ip.js';
import { dashedIP, label, nameToKey, parentKey, reverseKey } from './names.js';
import { TYPE, type RRSet, type Rdata, type SoaData } from './types.js';

/** The schema version of the Kubernetes DNS specification served at dns-version.<zone> (spec 2.2). */
export const SCHEMA_VERSION = '1.1.0';
/** TTL of the dns-version TXT record, as in the spec's example and CoreDNS. */
export const DNS_VERSION_TTL = 28800;

/** Authority is the zone that answers for a name: its apex (for the SOA) and SOA data. */
export interface Authority {
  apexKey: string;
  ttl: number;
  soa: SoaData;
  /**
   * Set for names svcdns answers inside a tree it does not own (PTRs of endpoint addresses
   * outside the zone's CIDRs): the name exists, its parents are not ours to claim.
   */
  detached?: boolean;
}

/** NameRecords is everything at one name: its zone and its RRsets (none for an empty non-terminal). */
export interface NameRecords {
  authority: Authority;
  rrsets: RRSet[];
}

/**
 * RecordTable is every record of a snapshot by owner key, built once per registry change.
 * Records are deduplicated as they are added; every ancestor of a name inside its zone exists
 * too (an empty non-terminal answers NODATA, RFC 8020).
 */
export class RecordTable {
  readonly names = new Map<string, NameRecords>();
  // Identity of each record already in a set, for deduplication; dropped by done().
  private readonly keys = new Map<RRSet, Set<string> | string>();

  /** add puts one record at a name, unless the same record is already there. */
  add(key: string, authority: Authority, rdata: Rdata, ttl = authority.ttl): void {
    const entry = this.ensure(key, authority);
    const id = rdataKey(rdata);
    const set = entry.rrsets.find((s) => s.type === rdata.type);
    if (!set) {
      const created = { type: rdata.type, ttl, records: [rdata] };
      entry.rrsets.push(created);
      this.keys.set(created, id);
      return;
    }
    const known = this.keys.get(set);
    if (known === id || (known instanceof Set && known.has(id))) return;
    if (known instanceof Set) known.add(id);
    else this.keys.set(set, new Set(known === undefined ? [id] : [known, id]));
    set.records.push(rdata);
  }

  /** ensure makes a name exist (with its ancestors up to the zone apex) and returns it. */
  ensure(key: string, authority: Authority): NameRecords {
    let entry = this.names.get(key);
    if (entry) return entry;
    entry = { authority, rrsets: [] };
    this.names.set(key, entry);
    if (!authority.detached && key.length > authority.apexKey.length) this.ensure(parentKey(key)!, authority);
    return entry;
  }

  /**
   * done finishes the table: the weights of each SRV set share 100 between its records (as
   * CoreDNS does), so clients that pick by weight spread evenly; and the build bookkeeping goes.
   */
  done(): void {
    this.keys.clear();
    for (const entry of this.names.values()) {
      for (const set of entry.rrsets) {
        if (set.type !== TYPE.SRV || set.records.length < 2) continue;
        const weight = Math.max(1, Math.floor(100 / set.records.length));
        set.records = set.records.map((r) => (r.type === TYPE.SRV ? { ...r, weight } : r));
      }
    }
  }
}

function rdataKey(r: Rdata): string {
  switch (r.type) {
    case TYPE.A:
    case TYPE.AAAA:
      return r.ip;
    case TYPE.SRV:
      // Dual-stack endpoints give the same (target, port) twice: one SRV record (spec, CoreDNS).
      return `${r.port}${r.target}`;
    case TYPE.TXT:
      return JSON.stringify(r.text);
    case TYPE.SOA:
      return '';
    default:
      return r.target;
  }
}

/** zoneAuthority gives the apex, TTL and SOA of a cluster zone. */
export function zoneAuthority(zone: ZoneView, serial: number): Authority {
  const apexKey = nameToKey(zone.settings.domain);
  const { ttl, soa } = zone.settings;
  return { apexKey, ttl, soa: { mname: `\x02ns\x03dns${apexKey}`, rname: `\x0ahostmaster${apexKey}`, serial, ...soa } };
}

const IN_ADDR = '\x07in-addr\x04arpa\0';
const IP6 = '\x03ip6\x04arpa\0';

/**
 * reverseAuthority gives the zone a reverse name belongs to: the octet (IPv4) or nibble (IPv6)
 * aligned zone inside one of the cluster's CIDRs; outside them the name is detached (answered,
 * but its parents are not ours).
 */
export function reverseAuthority(ip: string, cidrs: readonly Cidr[], cluster: Authority): Authority {
  const parsed = parseIP(ip);
  const cidr = parsed && cidrs.find((c) => cidrContains(c, parsed.bytes));
  const key = reverseKey(ip);
  if (!cidr) return { ...cluster, apexKey: key.endsWith(IP6) ? IP6 : IN_ADDR, detached: true };
  const unit = cidr.family === 'IPv6' ? 4 : 8; // bits per label: a nibble or an octet
  const drop = (cidr.family === 'IPv6' ? 32 : 4) - Math.ceil(cidr.prefix / unit);
  let apexKey = key;
  for (let i = 0; i < drop; i++) apexKey = parentKey(apexKey)!;
  return { ...cluster, apexKey };
}

/**
 * reverseZones lists the apex keys of the reverse zones that cover a CIDR: octet-aligned for
 * IPv4, nibble-aligned for IPv6 (a /12 is covered by 16 zones, 96.10.in-addr.arpa. to 111.10.in-addr.arpa.).
 */
export function reverseZones(cidr: Cidr): string[] {
  const unit = cidr.family === 'IPv6' ? 4 : 8;
  const kept = Math.ceil(cidr.prefix / unit);
  if (kept === 0) return []; // never claim the whole reverse tree
  const digits: number[] = [];
  for (let i = 0; i < kept; i++) {
    const byte = cidr.bytes[unit === 8 ? i : i >> 1] ?? 0;
    digits.push(unit === 8 ? byte : i % 2 ? byte & 15 : byte >> 4);
  }
  const free = kept * unit - cidr.prefix;
  const last = digits[kept - 1]! & ~((1 << free) - 1);
  const out: string[] = [];
  for (let v = last; v < last + (1 << free); v++) {
    const labels = [...digits.slice(0, kept - 1), v].map((d) => label(d.toString(unit === 8 ? 10 : 16)));
    out.push(labels.reverse().join('') + (unit === 8 ? IN_ADDR : IP6));
  }
  return out;
}

/** zoneRecords adds every record of one cluster zone to the table (spec sections 2.2 to 2.5). */
export function zoneRecords(table: RecordTable, zone: ZoneView, auth: Authority): void {
  const apex = auth.apexKey;
  const cidrs = [...zone.settings.serviceCIDRs, ...zone.settings.podCIDRs];
  // One Authority object per reverse zone, shared by all its names.
  const reverse = new Map<string, Authority>();
  const reverseOf = (ip: string): Authority => {
    const a = reverseAuthority(ip, cidrs, auth);
    const known = reverse.get(a.apexKey);
    if (known) return known;
    reverse.set(a.apexKey, a);
    return a;
  };
  table.add(apex, auth, { type: TYPE.SOA, soa: auth.soa });
  table.add(apex, auth, { type: TYPE.NS, target: auth.soa.mname });
  table.add(auth.soa.mname, auth, ipRecord(zone.settings.dnsServiceIP));
  table.add(label('dns-version') + apex, auth, { type: TYPE.TXT, text: [SCHEMA_VERSION] }, DNS_VERSION_TTL);
  for (const cidr of cidrs) {
    for (const apexKey of reverseZones(cidr)) {
      const rauth = { ...auth, apexKey };
      table.add(apexKey, rauth, { type: TYPE.SOA, soa: auth.soa });
      table.add(apexKey, rauth, { type: TYPE.NS, target: auth.soa.mname });
    }
  }
  const svc = label('svc') + apex;
  const pod = label('pod') + apex;
  table.ensure(svc, auth);
  if (zone.settings.pods === 'insecure') table.ensure(pod, auth);
  for (const ns of zone.namespaces) {
    table.ensure(label(ns) + svc, auth);
    if (zone.settings.pods === 'insecure') table.ensure(label(ns) + pod, auth);
  }
  const ptrs = new Map<string, string[]>(); // endpoint IP -> names, used where no ClusterIP has the IP
  for (const view of zone.services) serviceRecords(table, zone, auth, view, svc, ptrs, reverseOf);
  for (const [ip, targets] of ptrs) {
    const name = reverseKey(ip);
    if (table.names.get(name)?.rrsets.some((s) => s.type === TYPE.PTR)) continue; // a ClusterIP owns it
    for (const target of targets) table.add(name, reverseOf(ip), { type: TYPE.PTR, target });
  }
}

function serviceRecords(
  table: RecordTable,
  zone: ZoneView,
  auth: Authority,
  view: ServiceView,
  svc: string,
  ptrs: Map<string, string[]>,
  reverseOf: (ip: string) => Authority,
): void {
  const { service } = view;
  const base = label(service.name) + label(service.namespace) + svc;
  if (service.externalName !== undefined) {
    table.add(base, auth, { type: TYPE.CNAME, target: nameToKey(service.externalName) });
    return;
  }
  const ready = readyEndpoints(view, zone.settings.endpointPodNames);
  if (service.headless) {
    if (ready.length === 0) return; // spec 2.4.1: a headless Service with no ready endpoint is NXDOMAIN
    for (const e of ready) table.add(base, auth, ipRecord(e.ip));
  } else {
    table.ensure(base, auth);
    for (const ip of service.clusterIPs) {
      table.add(base, auth, ipRecord(ip));
      table.add(reverseKey(ip), reverseOf(ip), { type: TYPE.PTR, target: base });
    }
    for (const p of service.ports) {
      const srv = { type: TYPE.SRV, priority: 0, weight: 100, port: p.port, target: base } as const;
      if (p.name) table.add(srvKey(p.name, p.protocol, base), auth, srv);
      table.add(base, auth, srv); // CoreDNS: SRV at the service name lists every port, named or not
    }
  }
  // Endpoint names exist for ClusterIP Services too (CoreDNS), so PTR targets resolve forward.
  for (const e of ready) {
    const host = label(e.hostname) + base;
    table.add(host, auth, ipRecord(e.ip));
    const list = ptrs.get(e.ip);
    if (!list) ptrs.set(e.ip, [host]);
    else if (!list.includes(host)) list.push(host);
    if (!service.headless) continue;
    // Headless SRV (spec 2.4.2): one per ready endpoint and port of its own group, with the
    // endpoint's port, as kube-dns and CoreDNS do.
    for (const p of e.ports) {
      const srv = { type: TYPE.SRV, priority: 0, weight: 100, port: p.port, target: host } as const;
      if (p.name) table.add(srvKey(p.name, p.protocol, base), auth, srv);
      table.add(base, auth, srv);
    }
  }
}

function srvKey(port: string, protocol: string, base: string): string {
  return label(`_${port}`) + label(`_${protocol.toLowerCase()}`) + base;
}

/** ReadyAddress is one published endpoint address with the name DNS gives it. */
interface ReadyAddress {
  ip: string;
  hostname: string;
  ports: EndpointGroup['ports'];
}

/** readyEndpoints lists the addresses DNS publishes: ready ones, or all with publishNotReady. */
export function readyEndpoints(view: ServiceView, podNames: boolean): ReadyAddress[] {
  const out: ReadyAddress[] = [];
  for (const group of view.groups) {
    for (const e of group.endpoints) {
      if (!e.ready && !view.service.publishNotReady) continue;
      for (const ip of e.addresses) out.push({ ip, hostname: endpointHostname(e, ip, podNames), ports: group.ports });
    }
  }
  return out;
}

/** endpointHostname: the hostname, else (endpoint_pod_names) the pod name, else the dashed IP. */
export function endpointHostname(e: Endpoint, ip: string, podNames: boolean): string {
  if (e.hostname) return e.hostname;
  if (podNames && e.podName && e.podName.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(e.podName)) return e.podName;
  return dashedIP(ip);
}

// Addresses in the model are canonical: only IPv6 text has a colon.
function ipRecord(ip: string): Rdata {
  return { type: ip.includes(':') ? TYPE.AAAA : TYPE.A, ip };
}
