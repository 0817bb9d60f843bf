import type { ServiceView } from '../registry/content.js';
import type { Endpoint, EndpointGroup } from '../registry/model.js';
import type { ZoneSettings } from '../registry/settings.js';
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

/**
 * NameSets holds the records of some names by key, each name's RRsets in the order their first
 * record was added; an empty list is an empty non-terminal (RFC 8020).
 */
export type NameSets = Map<string, RRSet[]>;

/**
 * SetsBuilder collects records into NameSets, deduplicated as they are added (an address listed by
 * two slices is one record) without a quadratic scan for large sets.
 */
export class SetsBuilder {
  readonly names: NameSets = new Map();
  private seen: Map<RRSet, Set<string>> | undefined;

  /** ensure makes a name exist and returns its sets. */
  ensure(key: string): RRSet[] {
    let sets = this.names.get(key);
    if (!sets) this.names.set(key, (sets = []));
    return sets;
  }

  /** add puts one record at a name, unless the same record is already there. */
  add(key: string, rdata: Rdata, ttl: number): void {
    addRecord(this.ensure(key), rdata, ttl, this);
  }

  /** seenOf gives the identities of a large set's records (small sets are scanned instead). */
  seenOf(set: RRSet): Set<string> {
    this.seen ??= new Map();
    let ids = this.seen.get(set);
    if (!ids) {
      ids = new Set(set.records.map(rdataKey));
      this.seen.set(set, ids);
    }
    return ids;
  }
}

/** addRecord adds a record to a name's sets unless it is there already (same type and identity). */
export function addRecord(sets: RRSet[], rdata: Rdata, ttl: number, big?: SetsBuilder): void {
  let set: RRSet | undefined;
  for (const s of sets) if (s.type === rdata.type) set = s;
  if (!set) {
    sets.push({ type: rdata.type, ttl, records: [rdata] });
    return;
  }
  const id = rdataKey(rdata);
  if (set.records.length < 16 || !big) {
    for (const r of set.records) if (rdataKey(r) === id) return;
  } else {
    const ids = big.seenOf(set);
    if (ids.has(id)) return;
    ids.add(id);
  }
  set.records.push(rdata);
}

/**
 * balanceSrv makes the weights of each SRV set share 100 between its records (as CoreDNS does),
 * so clients that pick by weight spread evenly.
 */
export function balanceSrv(sets: RRSet[]): void {
  for (const set of sets) {
    if (set.type !== TYPE.SRV || set.records.length < 2) continue;
    const weight = Math.max(1, Math.floor(100 / set.records.length));
    set.records = set.records.map((r) => (r.type === TYPE.SRV ? { ...r, weight } : r));
  }
}

/** rdataKey is a record's identity within its set, for deduplication. */
export function rdataKey(r: Rdata): string {
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
export function zoneAuthority(settings: ZoneSettings, serial: number): Authority {
  const apexKey = nameToKey(settings.domain);
  const { ttl, soa } = settings;
  return { apexKey, ttl, soa: { mname: `\x02ns\x03dns${apexKey}`, rname: `\x0ahostmaster${apexKey}`, serial, ...soa } };
}

const IN_ADDR = '\x07in-addr\x04arpa\0';
const IP6 = '\x03ip6\x04arpa\0';

/**
 * reverseApex gives the apex key of the reverse zone an address belongs to: the octet (IPv4) or
 * nibble (IPv6) aligned zone inside the first of the CIDRs that holds it; undefined outside them
 * (the name is then detached: answered, but its parents are not ours).
 */
export function reverseApex(ip: string, cidrs: readonly Cidr[]): string | undefined {
  const parsed = parseIP(ip);
  const cidr = parsed && cidrs.find((c) => cidrContains(c, parsed.bytes));
  if (!cidr) return undefined;
  const unit = cidr.family === 'IPv6' ? 4 : 8; // bits per label: a nibble or an octet
  const drop = (cidr.family === 'IPv6' ? 32 : 4) - Math.ceil(cidr.prefix / unit);
  let apexKey = reverseKey(ip);
  for (let i = 0; i < drop; i++) apexKey = parentKey(apexKey)!;
  return apexKey;
}

/** reverseAuthority gives the zone a reverse name belongs to (see reverseApex), or a detached one. */
export function reverseAuthority(ip: string, cidrs: readonly Cidr[], cluster: Authority): Authority {
  const apexKey = reverseApex(ip, cidrs);
  if (apexKey === undefined) return { ...cluster, apexKey: ip.includes(':') ? IP6 : IN_ADDR, detached: true };
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

/** zoneCidrs lists a zone's CIDRs in the order reverse names are matched: services first, then pods. */
export function zoneCidrs(settings: ZoneSettings): Cidr[] {
  return [...settings.serviceCIDRs, ...settings.podCIDRs];
}

/**
 * ServiceRecords is what one Service contributes to DNS (spec sections 2.3 to 2.5): the records of
 * the names only it has (its name and everything below it), and the PTRs it asks for, which other
 * Services may share (an address can be a cluster IP of one Service and an endpoint of another).
 */
export interface ServiceRecords {
  /** <svc>.<ns>.svc.<zone> and the names below it; empty when the Service has no name in DNS. */
  names: NameSets;
  /** Cluster IP -> the Service's name. */
  clusterPtrs: Map<string, string>;
  /** Ready endpoint address -> its names in this Service, in endpoint order. */
  endpointPtrs: Map<string, string[]>;
}

const NO_RECORDS: ServiceRecords = { names: new Map(), clusterPtrs: new Map(), endpointPtrs: new Map() };

/** serviceKey gives the key of <svc>.<ns>.svc.<zone> from the key of svc.<zone>. */
export function serviceKey(name: string, namespace: string, svcKey: string): string {
  return label(name) + label(namespace) + svcKey;
}

/**
 * serviceRecords computes everything one Service contributes, from the Service alone: the same
 * Service always gives the same records in the same order, so a change can be applied by
 * recomputing only the Services it touches.
 */
export function serviceRecords(view: ServiceView, settings: ZoneSettings, svcKey: string): ServiceRecords {
  const { service } = view;
  const ttl = settings.ttl;
  const base = serviceKey(service.name, service.namespace, svcKey);
  if (service.externalName !== undefined) {
    const out = new SetsBuilder();
    out.add(base, { type: TYPE.CNAME, target: nameToKey(service.externalName) }, ttl);
    return { names: out.names, clusterPtrs: new Map(), endpointPtrs: new Map() };
  }
  const ready = readyEndpoints(view, settings.endpointPodNames);
  if (service.headless && ready.length === 0) return NO_RECORDS; // spec 2.4.1: NXDOMAIN
  const out = new SetsBuilder();
  const clusterPtrs = new Map<string, string>();
  const endpointPtrs = new Map<string, string[]>();
  // Empty non-terminals below the Service name (_tcp.<svc>...) exist too: ensure walks up to it.
  const ensure = (key: string) => {
    for (let k = key; k !== base && !out.names.has(k); k = parentKey(k)!) out.ensure(k);
  };
  if (service.headless) {
    for (const e of ready) out.add(base, ipRecord(e.ip), ttl);
  } else {
    out.ensure(base);
    for (const ip of service.clusterIPs) {
      out.add(base, ipRecord(ip), ttl);
      if (!clusterPtrs.has(ip)) clusterPtrs.set(ip, base);
    }
    for (const p of service.ports) {
      const srv = { type: TYPE.SRV, priority: 0, weight: 100, port: p.port, target: base } as const;
      if (p.name) {
        const key = srvKey(p.name, p.protocol, base);
        ensure(key);
        out.add(key, srv, ttl);
      }
      out.add(base, srv, ttl); // CoreDNS: SRV at the service name lists every port, named or not
    }
  }
  // Endpoint names exist for ClusterIP Services too (CoreDNS), so PTR targets resolve forward.
  for (const e of ready) {
    const host = label(e.hostname) + base;
    out.add(host, ipRecord(e.ip), ttl);
    const list = endpointPtrs.get(e.ip);
    if (!list) endpointPtrs.set(e.ip, [host]);
    else if (!list.includes(host)) list.push(host);
    if (!service.headless) continue;
    // Headless SRV (spec 2.4.2): one per ready endpoint and port of its own group, with the
    // endpoint's port, as kube-dns and CoreDNS do.
    for (const p of e.ports) {
      const srv = { type: TYPE.SRV, priority: 0, weight: 100, port: p.port, target: host } as const;
      if (p.name) {
        const key = srvKey(p.name, p.protocol, base);
        ensure(key);
        out.add(key, srv, ttl);
      }
      out.add(base, srv, ttl);
    }
  }
  for (const sets of out.names.values()) balanceSrv(sets);
  return { names: out.names, clusterPtrs, endpointPtrs };
}

function srvKey(port: string, protocol: string, base: string): string {
  return label(`_${port}`) + label(`_${protocol.toLowerCase()}`) + base;
}

/** StaticName is a name every zone has whatever its Services: apex, ns.dns, dns-version, reverse apexes. */
export interface StaticName {
  /** Apex of the zone the name is in. */
  apexKey: string;
  /** The SOA of an apex is served from the zone (it carries the serial of each snapshot). */
  apex: boolean;
  sets: RRSet[];
}

/**
 * zoneStaticNames adds the names of one cluster zone that do not depend on its Services (spec 2.2
 * and the reverse zones of its CIDRs) to `out`; a name another zone already has keeps its zone
 * and gains the records it lacked, as when the zones share a reverse zone.
 */
export function zoneStaticNames(settings: ZoneSettings, auth: Authority, out: Map<string, StaticName>): void {
  const apex = auth.apexKey;
  const add = (key: string, apexKey: string, rdata: Rdata | undefined, ttl = auth.ttl) => {
    let name = out.get(key);
    if (!name) out.set(key, (name = { apexKey, apex: key === apexKey, sets: [] }));
    if (rdata) addRecord(name.sets, rdata, ttl);
  };
  const ensure = (key: string, apexKey: string) => {
    for (let k: string | undefined = key; k !== undefined && k.length >= apexKey.length; k = parentKey(k)) add(k, apexKey, undefined);
  };
  add(apex, apex, { type: TYPE.SOA, soa: auth.soa });
  add(apex, apex, { type: TYPE.NS, target: auth.soa.mname });
  ensure(auth.soa.mname, apex);
  add(auth.soa.mname, apex, ipRecord(settings.dnsServiceIP));
  ensure(label('dns-version') + apex, apex);
  add(label('dns-version') + apex, apex, { type: TYPE.TXT, text: [SCHEMA_VERSION] }, DNS_VERSION_TTL);
  for (const cidr of zoneCidrs(settings)) {
    for (const apexKey of reverseZones(cidr)) {
      add(apexKey, apexKey, { type: TYPE.SOA, soa: auth.soa });
      add(apexKey, apexKey, { type: TYPE.NS, target: auth.soa.mname });
    }
  }
  add(label('svc') + apex, apex, undefined);
  if (settings.pods === 'insecure') add(label('pod') + apex, apex, undefined);
}

/** namespaceKeys gives the empty non-terminals a namespace adds: <ns>.svc.<zone> (and <ns>.pod.<zone>). */
export function namespaceKeys(namespace: string, settings: ZoneSettings, apexKey: string): string[] {
  const l = label(namespace);
  return settings.pods === 'insecure' ? [l + label('svc') + apexKey, l + label('pod') + apexKey] : [l + label('svc') + apexKey];
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

/** ipRecord gives the A or AAAA record of an address (addresses in the model are canonical: only IPv6 text has a colon). */
export function ipRecord(ip: string): Rdata {
  return { type: ip.includes(':') ? TYPE.AAAA : TYPE.A, ip };
}
