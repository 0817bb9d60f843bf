import type { ServiceView } from '../registry/content.js';
import type { Service } from '../registry/model.js';
import type { ZoneSettings } from '../registry/settings.js';
import { NameStore, type AnswerSpec, type StoreStats, type ZoneRef } from './cells.js';
import { label, parentKey, reverseKey } from './names.js';
import { namespaceKeys, reverseZones, serviceRecords, zoneAuthority, zoneCidrs, zoneStaticNames, type NameSets, type ServiceRecords, type StaticName } from './records.js';
import { DnsTable, type TableShape } from './table.js';
import { TYPE, type RRSet } from './types.js';

/** ZoneSource is what the builder reads of one cluster domain: settings, namespaces and Services. */
export interface ZoneSource {
  readonly settings: ZoneSettings;
  /** Namespaces of the zone; a new Set whenever they change (each snapshot keeps its own). */
  readonly namespaces: ReadonlySet<string>;
  /** Every Service, joined to its endpoints, sorted by namespace, then name. */
  readonly services: readonly ServiceView[];
  /** One Service, as it is now. */
  view(namespace: string, name: string): ServiceView | undefined;
}

/** ServiceChange is one Service before and after a batch of changes (absent: it did not exist). */
export interface ServiceChange {
  readonly before?: ServiceView;
  readonly after?: ServiceView;
}

/** ZoneChanges is what a batch of changes did to one zone. */
export interface ZoneChanges {
  /** Index of the zone in the sources the builder was made from. */
  readonly zone: number;
  readonly services: readonly ServiceChange[];
  readonly namespacesAdded: readonly string[];
  readonly namespacesRemoved: readonly string[];
}

interface ZoneBuild {
  index: number;
  source: ZoneSource;
  settings: ZoneSettings;
  apexKey: string;
  /** Key of svc.<zone>. */
  svcKey: string;
  ref: ZoneRef;
  detached: { v4: ZoneRef; v6: ZoneRef };
  /** Address -> the Services that ask for its PTR (as a cluster IP or a ready endpoint). */
  ipOwners: Map<string, Service | Service[]>;
}

const IN_ADDR = '\x07in-addr\x04arpa\0';
const IP6 = '\x03ip6\x04arpa\0';
const NONE: ServiceRecords = { names: new Map(), clusterPtrs: new Map(), endpointPtrs: new Map() };

/**
 * DnsBuilder turns the registry into DNS tables: once in full (at start, when zone settings
 * change), then change by change. A change recomputes only the Services it touches (a Service
 * changes with its EndpointSlices and Endpoints) and rewrites only their names, plus what other
 * names depend on: the PTRs of their addresses (shared with other Services), the empty
 * non-terminals of the reverse tree (counted), namespace names, and ExternalName CNAMEs chased
 * into them. Full and incremental builds share every function that makes records and answers,
 * so both give the same bytes (test/dns/incremental.test.ts checks it).
 */
export class DnsBuilder {
  /**
   * False when a zone lies inside another one (cluster.local and svc.cluster.local, or a cluster
   * domain in the reverse tree): names could then belong to two Services, and every change is a
   * full build.
   */
  readonly incremental: boolean;
  private readonly store: NameStore;
  private readonly shape: TableShape;
  private readonly zones: ZoneBuild[] = [];
  private readonly statics = new Map<string, StaticName>();
  /** Empty non-terminals of the reverse tree: how many PTR names are below each. */
  private readonly reverseCounts = new Map<string, number>();
  /** Target name -> ExternalName names whose chased answers read it. */
  private readonly aliasDeps = new Map<string, Set<string>>();
  private readonly aliasTargets = new Map<string, string[]>();
  private memo = new Map<ServiceView, ServiceRecords>();

  constructor(sources: readonly ZoneSource[], gen: number) {
    const store = (this.store = new NameStore(gen));
    const apexes = new Map<string, ZoneRef>();
    const reverse: Array<{ cidr: import('../net/ip.js').Cidr; cluster: number }> = [];
    const clusters: ZoneRef[] = [];
    sources.forEach((source, index) => {
      const settings = source.settings;
      const auth = zoneAuthority(settings, 0);
      const apexKey = auth.apexKey;
      const pods = settings.pods === 'insecure' ? { podKey: label('pod') + apexKey, ttl: settings.ttl } : undefined;
      const ref = store.ref(apexKey, auth, index, pods);
      if (!apexes.has(apexKey)) apexes.set(apexKey, ref);
      clusters.push(ref);
      for (const cidr of zoneCidrs(settings)) {
        reverse.push({ cidr, cluster: index });
        for (const rk of reverseZones(cidr)) if (!apexes.has(rk)) apexes.set(rk, store.ref(rk, { ...auth, apexKey: rk }, index));
      }
      const detached = {
        v4: store.ref(IN_ADDR, { ...auth, apexKey: IN_ADDR, detached: true }, index),
        v6: store.ref(IP6, { ...auth, apexKey: IP6, detached: true }, index),
      };
      zoneStaticNames(settings, auth, this.statics);
      this.zones.push({ index, source, settings, apexKey, svcKey: label('svc') + apexKey, ref, detached, ipOwners: new Map() });
    });
    this.shape = { apexes, reverse, clusters };
    this.incremental = !nestedZones(this.zones.map((z) => z.apexKey));
    this.fullBuild();
  }

  /** gen is the generation of the latest build. */
  get gen(): number {
    return this.store.gen;
  }

  /** table gives the DNS table of the latest generation, with its SOA serial. */
  table(serial: number): DnsTable {
    return new DnsTable(this.store, this.shape, this.store.gen, serial, this.zones.map((z) => z.source.namespaces), this.store.size);
  }

  /** stats tells how much memory the names take, for tests and logs. */
  stats(): StoreStats & { names: number } {
    return { ...this.store.stats(), names: this.store.size };
  }

  /**
   * apply brings the names up to date with a batch of changes as generation `gen`: the zone
   * sources already hold the new state; `changes` says what it was before.
   */
  apply(changes: readonly ZoneChanges[], gen: number): void {
    if (!this.incremental) throw new Error('zones overlap: a full build is needed');
    this.store.beginChanges(gen);
    this.memo = new Map();
    const touched = new Set<string>();
    const aliases = new Set<string>();
    const ips = new Set<string>();
    for (const zc of changes) {
      const z = this.zones[zc.zone]!;
      for (const ns of zc.namespacesAdded) {
        for (const key of namespaceKeys(ns, z.settings, z.apexKey)) {
          if (!this.store.exists(key)) this.store.put(key, z.ref, false, []);
          touched.add(key);
        }
      }
      for (const ns of zc.namespacesRemoved) {
        for (const key of namespaceKeys(ns, z.settings, z.apexKey)) {
          this.store.remove(key);
          touched.add(key);
        }
      }
      for (const ch of zc.services) {
        const old = ch.before ? this.records(z, ch.before) : NONE;
        const now = ch.after ? this.records(z, ch.after) : NONE;
        this.publishNames(z, now.names, aliases, touched);
        for (const key of old.names.keys()) {
          if (now.names.has(key)) continue;
          this.store.remove(key);
          this.dropAlias(key);
          touched.add(key);
        }
        if (ch.before) for (const ip of ptrAddresses(old)) (removeOwner(z.ipOwners, ip, ch.before.service), ips.add(ip));
        if (ch.after) for (const ip of ptrAddresses(now)) (addOwner(z.ipOwners, ip, ch.after.service), ips.add(ip));
      }
    }
    for (const ip of ips) this.updatePtr(ip);
    for (const key of touched) for (const dep of this.aliasDeps.get(key) ?? []) aliases.add(dep);
    for (const key of aliases) this.publishAlias(key);
    this.memo = new Map();
    this.store.maintain();
  }

  private fullBuild(): void {
    for (const [key, st] of this.statics) this.store.put(key, this.shape.apexes.get(st.apexKey)!, st.apex, this.specs(key, st.sets));
    for (const z of this.zones) {
      for (const ns of z.source.namespaces) for (const key of namespaceKeys(ns, z.settings, z.apexKey)) if (!this.store.exists(key)) this.store.put(key, z.ref, false, []);
    }
    // PTRs are gathered over every Service first: an address may be asked for by several.
    const ptrs = new Map<string, { cluster: string[]; endpoint: string[]; clusterZone: number; endpointZone: number }>();
    const aliases = new Set<string>();
    for (const z of this.zones) {
      for (const view of z.source.services) {
        const rec = serviceRecords(view, z.settings, z.svcKey);
        this.publishNames(z, rec.names, aliases);
        for (const [ip, target] of rec.clusterPtrs) {
          let p = ptrs.get(ip);
          if (!p) ptrs.set(ip, (p = { cluster: [], endpoint: [], clusterZone: z.index, endpointZone: z.index }));
          if (!p.cluster.length) p.clusterZone = z.index;
          p.cluster.push(target);
          addOwner(z.ipOwners, ip, view.service);
        }
        for (const [ip, hosts] of rec.endpointPtrs) {
          let p = ptrs.get(ip);
          if (!p) ptrs.set(ip, (p = { cluster: [], endpoint: [], clusterZone: z.index, endpointZone: z.index }));
          if (!p.endpoint.length) p.endpointZone = z.index;
          for (const h of hosts) p.endpoint.push(h);
          addOwner(z.ipOwners, ip, view.service);
        }
      }
    }
    for (const [ip, p] of ptrs) {
      const key = reverseKey(ip);
      const cluster = p.cluster.length > 0;
      this.publishReverse(key, this.ptrSets(cluster ? p.cluster : p.endpoint, cluster ? p.clusterZone : p.endpointZone));
      this.count(key, 1, false);
    }
    for (const [key, n] of this.reverseCounts) if (n > 0 && !this.store.exists(key)) this.publishReverse(key);
    for (const key of aliases) this.publishAlias(key);
  }

  // Exclusive names of a Service: its name and the names below it. CNAMEs wait until the end of
  // the batch, when every name they may chase into is up to date.
  private publishNames(z: ZoneBuild, names: NameSets, aliases: Set<string>, touched?: Set<string>): void {
    for (const [key, sets] of names) {
      touched?.add(key);
      this.dropAlias(key);
      if (sets.some((s) => s.type === TYPE.CNAME)) {
        aliases.add(key);
        continue;
      }
      this.store.put(key, z.ref, false, this.specs(key, sets, names));
    }
  }

  // The answers of a name: one per RRset, with the addresses of SRV and NS targets as additional
  // records (RFC 1035 §3.3.9/§3.3.11, RFC 2782).
  private specs(key: string, sets: readonly RRSet[], own?: NameSets): AnswerSpec[] {
    const out: AnswerSpec[] = [];
    for (const set of sets) {
      if (set.type === TYPE.SOA && this.statics.get(key)?.apex) continue; // served by the zone, with each snapshot's serial
      out.push({ type: set.type, cname: false, answer: [[key, set]], additional: this.additionalsFor(set, own) });
    }
    return out;
  }

  private additionalsFor(set: RRSet, own?: NameSets): Array<[string, RRSet]> {
    if (set.type !== TYPE.SRV && set.type !== TYPE.NS) return [];
    const out: Array<[string, RRSet]> = [];
    const done = new Set<string>();
    for (const r of set.records) {
      if ((r.type !== TYPE.SRV && r.type !== TYPE.NS) || done.has(r.target)) continue;
      done.add(r.target);
      for (const s of own?.get(r.target) ?? this.recordsAt(r.target) ?? []) {
        if (s.type === TYPE.A || s.type === TYPE.AAAA) out.push([r.target, s]);
      }
    }
    return out;
  }

  // An ExternalName: the CNAME answers every type; in-zone targets are chased (RFC 1034 §3.6.2),
  // and the names read on the way are remembered, so that a change to them rebuilds this one.
  private publishAlias(key: string): void {
    this.dropAlias(key);
    const owner = this.ownerOf(key);
    const cname = owner && this.records(owner.z, owner.view).names.get(key)?.find((s) => s.type === TYPE.CNAME);
    if (!owner || !cname) return;
    const read: string[] = [];
    const specs: AnswerSpec[] = [{ type: TYPE.CNAME, cname: true, answer: [[key, cname]], additional: [] }];
    for (const qtype of [TYPE.A, TYPE.AAAA]) {
      const chain = this.chase(key, cname, qtype, read);
      if (chain.length > 1) specs.push({ type: qtype, cname: false, answer: chain, additional: [] });
    }
    this.store.put(key, owner.z.ref, false, specs);
    const targets = [...new Set(read)];
    this.aliasTargets.set(key, targets);
    for (const t of targets) {
      let deps = this.aliasDeps.get(t);
      if (!deps) this.aliasDeps.set(t, (deps = new Set()));
      deps.add(key);
    }
  }

  private dropAlias(key: string): void {
    const targets = this.aliasTargets.get(key);
    if (!targets) return;
    this.aliasTargets.delete(key);
    for (const t of targets) {
      const deps = this.aliasDeps.get(t);
      deps?.delete(key);
      if (deps?.size === 0) this.aliasDeps.delete(t);
    }
  }

  // Follows CNAMEs inside our own records, at most 8 hops, for the CNAME-then-target answer.
  private chase(key: string, cname: RRSet, qtype: number, read: string[]): Array<[string, RRSet]> {
    const chain: Array<[string, RRSet]> = [[key, cname]];
    const seen = new Set([key]);
    let set: RRSet | undefined = cname;
    while (set && chain.length < 9) {
      const first = set.records[0];
      if (!first || first.type !== TYPE.CNAME) break;
      const targetKey = first.target;
      read.push(targetKey);
      const target = this.recordsAt(targetKey);
      if (!target || seen.has(targetKey)) break;
      seen.add(targetKey);
      set = target.find((s) => s.type === qtype) ?? target.find((s) => s.type === TYPE.CNAME);
      if (set) chain.push([targetKey, set]);
    }
    return chain;
  }

  // The records at a name that answers may read from elsewhere (addresses, CNAMEs): zone names and
  // Service names. Reverse names hold only PTRs, SOA and NS, which nothing chases.
  private recordsAt(key: string): readonly RRSet[] | undefined {
    const st = this.statics.get(key);
    if (st) return st.sets;
    const owner = this.ownerOf(key);
    return owner && this.records(owner.z, owner.view).names.get(key);
  }

  // The Service whose names include `key`: <...>.<svc>.<ns>.svc.<zone>.
  private ownerOf(key: string): { z: ZoneBuild; view: ServiceView } | undefined {
    for (const z of this.zones) {
      if (!key.endsWith(z.svcKey)) continue;
      const cut = key.length - z.svcKey.length;
      let name = -1;
      let ns = -1;
      let i = 0;
      while (i < cut) {
        name = ns;
        ns = i;
        i += key.charCodeAt(i) + 1;
      }
      if (i !== cut || name < 0) continue;
      const view = z.source.view(key.slice(ns + 1, ns + 1 + key.charCodeAt(ns)), key.slice(name + 1, name + 1 + key.charCodeAt(name)));
      if (view) return { z, view };
    }
    return undefined;
  }

  private records(z: ZoneBuild, view: ServiceView): ServiceRecords {
    let rec = this.memo.get(view);
    if (!rec) this.memo.set(view, (rec = serviceRecords(view, z.settings, z.svcKey)));
    return rec;
  }

  // Rebuilds the PTR name of an address from the Services that ask for it now.
  private updatePtr(ip: string): void {
    const key = reverseKey(ip);
    const was = this.store.exists(key) && !this.statics.has(key);
    const cluster: string[] = [];
    const endpoint: string[] = [];
    let clusterZone = -1;
    let endpointZone = -1;
    for (const z of this.zones) {
      const owners = z.ipOwners.get(ip);
      if (!owners) continue;
      for (const svc of Array.isArray(owners) ? [...owners].sort(byName) : [owners]) {
        const view = z.source.view(svc.namespace, svc.name);
        if (!view) continue;
        const rec = this.records(z, view);
        const c = rec.clusterPtrs.get(ip);
        if (c !== undefined) {
          if (clusterZone < 0) clusterZone = z.index;
          cluster.push(c);
        }
        const hosts = rec.endpointPtrs.get(ip);
        if (hosts) {
          if (endpointZone < 0) endpointZone = z.index;
          for (const h of hosts) endpoint.push(h);
        }
      }
    }
    const sets = cluster.length ? this.ptrSets(cluster, clusterZone) : endpoint.length ? this.ptrSets(endpoint, endpointZone) : undefined;
    this.publishReverse(key, sets);
    if (was !== (sets !== undefined)) this.count(key, sets ? 1 : -1, true);
  }

  // A PTR set; a cluster IP's PTR wins over endpoints with the same address.
  private ptrSets(targets: readonly string[], zone: number): { sets: RRSet[]; zone: number } {
    const unique = [...new Set(targets)];
    return { sets: [{ type: TYPE.PTR, ttl: this.zones[zone]!.settings.ttl, records: unique.map((target) => ({ type: TYPE.PTR, target })) }], zone };
  }

  // A name of the reverse tree: zone records (a reverse apex), PTRs, or an empty non-terminal.
  private publishReverse(key: string, ptr?: { sets: RRSet[]; zone: number }): void {
    const st = this.statics.get(key);
    if (!st && !ptr && !this.reverseCounts.get(key)) return this.store.remove(key);
    const ref = st ? this.shape.apexes.get(st.apexKey)! : this.reverseZone(key, ptr?.zone ?? 0).ref;
    const sets = st ? (ptr ? [...st.sets, ...ptr.sets] : st.sets) : (ptr?.sets ?? []);
    this.store.put(key, ref, st?.apex ?? false, this.specs(key, sets));
  }

  // Counts a PTR name in or out of the empty non-terminals above it, up to its reverse zone's apex.
  private count(key: string, delta: number, publish: boolean): void {
    const { apex } = this.reverseZone(key, 0);
    if (apex === undefined || apex === key) return;
    for (let k = parentKey(key)!; k !== apex; k = parentKey(k)!) {
      const n = (this.reverseCounts.get(k) ?? 0) + delta;
      if (n > 0) this.reverseCounts.set(k, n);
      else this.reverseCounts.delete(k);
      if (publish && (n === 0 || (n === 1 && delta > 0))) this.publishReverse(k);
    }
  }

  // The deepest reverse zone of ours above a name, or (none) the detached zone of `zone`.
  private reverseZone(key: string, zone: number): { ref: ZoneRef; apex?: string } {
    for (let k: string | undefined = key; k !== undefined && k !== IN_ADDR && k !== IP6; k = parentKey(k)) {
      const ref = this.shape.apexes.get(k);
      if (ref) return { ref, apex: k };
    }
    const d = this.zones[zone]!.detached;
    return { ref: key.endsWith(IP6) ? d.v6 : d.v4 };
  }
}

/** buildDnsTable is a full build of zones that will not change (svcdns check, tools, tests). */
export function buildDnsTable(sources: readonly ZoneSource[], serial: number): DnsTable {
  return new DnsBuilder(sources, 1).table(serial);
}

function ptrAddresses(rec: ServiceRecords): Set<string> {
  return new Set([...rec.clusterPtrs.keys(), ...rec.endpointPtrs.keys()]);
}

function addOwner(owners: Map<string, Service | Service[]>, ip: string, svc: Service): void {
  const o = owners.get(ip);
  if (o === undefined) owners.set(ip, svc);
  else if (Array.isArray(o)) {
    if (!o.includes(svc)) o.push(svc);
  } else if (o !== svc) owners.set(ip, [o, svc]);
}

function removeOwner(owners: Map<string, Service | Service[]>, ip: string, svc: Service): void {
  const o = owners.get(ip);
  if (o === svc) owners.delete(ip);
  else if (Array.isArray(o)) {
    const rest = o.filter((s) => s !== svc);
    owners.set(ip, rest.length === 1 ? rest[0]! : rest);
  }
}

const byName = (a: Service, b: Service) => (a.namespace === b.namespace ? cmp(a.name, b.name) : cmp(a.namespace, b.namespace));
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

// Whether a zone apex lies inside another one (or two zones have one apex), or in the reverse tree.
function nestedZones(apexes: readonly string[]): boolean {
  const inside = (key: string, apex: string) => {
    for (let k: string | undefined = key; k !== undefined; k = parentKey(k)) if (k === apex) return true;
    return false;
  };
  return apexes.some((a, i) => inside(a, IN_ADDR) || inside(a, IP6) || apexes.some((b, j) => i !== j && inside(a, b)));
}
