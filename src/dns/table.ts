import type { ZoneView } from '../registry/content.js';
import { cidrContains, type Cidr } from '../net/ip.js';
import { Arena, BodyWriter } from './encode.js';
import type { Prebuilt } from './message.js';
import { dashedToIP, firstLabel, label, parentKey } from './names.js';
import { RecordTable, reverseAuthority, zoneAuthority, zoneRecords, type Authority, type NameRecords } from './records.js';
import { RCODE, TYPE, type RRSet, type Rdata } from './types.js';

/** NegativeReply answers NXDOMAIN or NODATA with the zone's SOA; one object per zone and rcode. */
export interface NegativeReply {
  readonly kind: 'negative';
  readonly rcode: number;
  readonly zone: ZoneNode;
}

/** PodSettings is what pod names (a-b-c-d.<ns>.pod.<zone>) of a cluster domain need. */
export interface PodSettings {
  ttl: number;
  namespaces: ReadonlySet<string>;
  /** Key of pod.<zone>. */
  podKey: string;
}

/** ZoneNode is a zone svcdns is authoritative for: a cluster domain or a reverse zone of its CIDRs. */
export class ZoneNode {
  readonly apexKey: string;
  readonly nxdomain: NegativeReply;
  readonly nodata: NegativeReply;
  /** SOA bodies by the offset of the zone inside the question name: at most 256, built on first use. */
  private readonly soaBodies: Array<Buffer | undefined> = [];

  private readonly arena = new Arena(4096);

  constructor(
    readonly auth: Authority,
    readonly pods?: PodSettings,
  ) {
    this.apexKey = auth.apexKey;
    this.nxdomain = { kind: 'negative', rcode: RCODE.NXDOMAIN, zone: this };
    this.nodata = { kind: 'negative', rcode: RCODE.NOERROR, zone: this };
  }

  /** soaBody gives the authority section of a negative answer whose question has the zone at `offset`. */
  soaBody(offset: number): Buffer {
    let body = this.soaBodies[offset];
    if (!body) {
      const w = new BodyWriter(filler(offset) + this.apexKey);
      // RFC 2308 §3: the SOA's TTL in a negative answer is the lesser of its TTL and MINIMUM.
      w.rr(1, this.apexKey, Math.min(this.auth.ttl, this.auth.soa.minimum), { type: TYPE.SOA, soa: this.auth.soa });
      w.finish(this.arena);
      const a = this.arena;
      body = this.soaBodies[offset] = a.lastBuf.subarray(a.lastStart, a.lastStart + a.lastLen);
    }
    return body;
  }
}

/** NameNode is an existing name with its prebuilt answers. */
export interface NameNode {
  readonly zone: ZoneNode;
  a?: Prebuilt;
  aaaa?: Prebuilt;
  /** Answers for other types, as [type, answer] pairs (usually one or two). */
  other?: Array<[number, Prebuilt]>;
  /** For an alias (ExternalName): the CNAME alone, the answer to any type without a chased one. */
  cname?: Prebuilt;
  /** RFC 8482: ANY gets one RRset of the name, not all of them. */
  any?: Prebuilt;
}

/** DnsTable is the DNS side of a snapshot: every name's answers, prebuilt as wire bytes. */
export class DnsTable {
  readonly names = new Map<string, NameNode>();
  private readonly arena = new Arena();
  private readonly zones = new Map<string, ZoneNode>();
  private readonly reverse: Array<{ cidr: Cidr; auth: Authority }> = [];

  /** answerFor returns the answer, NODATA/NXDOMAIN, or undefined when no zone of ours holds the name. */
  answerFor(key: string, qtype: number): Prebuilt | NegativeReply | undefined {
    const node = this.names.get(key);
    if (node) return selectAnswer(node, qtype) ?? node.zone.nodata;
    const zone = this.zoneOf(key);
    if (!zone) return undefined;
    if (zone.pods) return podAnswer(zone, key, qtype) ?? zone.nxdomain;
    return zone.nxdomain;
  }

  /** zoneOf finds the zone of ours that a name falls in, matching whole labels. */
  zoneOf(key: string): ZoneNode | undefined {
    for (let k: string | undefined = key; k !== undefined; k = parentKey(k)) {
      // Reverse zones are only those inside our CIDRs, never the whole in-addr.arpa. tree.
      if (k === IN_ADDR_ARPA || k === IP6_ARPA) return this.reverseZoneOf(key, k === IP6_ARPA);
      const zone = this.zones.get(k);
      if (zone) return zone;
    }
    return undefined;
  }

  /** build fills the table from the cluster zones of a snapshot. */
  static build(views: readonly ZoneView[], serial: number): DnsTable {
    const table = new DnsTable();
    const records = new RecordTable();
    for (const view of views) {
      const auth = zoneAuthority(view, serial);
      const pods = view.settings.pods === 'insecure' ? { ttl: view.settings.ttl, namespaces: view.namespaces, podKey: label('pod') + auth.apexKey } : undefined;
      table.zoneNode(auth, pods);
      for (const cidr of [...view.settings.serviceCIDRs, ...view.settings.podCIDRs]) table.reverse.push({ cidr, auth });
      zoneRecords(records, view, auth);
    }
    records.done();
    const zoneOfAuthority = new Map<Authority, ZoneNode>();
    for (const [key, entry] of records.names) {
      let zone = zoneOfAuthority.get(entry.authority);
      if (!zone) zoneOfAuthority.set(entry.authority, (zone = table.zoneNode(entry.authority)));
      table.names.set(key, buildNode(key, entry, zone, records, table.arena));
    }
    return table;
  }

  private zoneNode(auth: Authority, pods?: PodSettings): ZoneNode {
    const apexKey = auth.apexKey;
    let zone = this.zones.get(apexKey);
    if (!zone) {
      zone = new ZoneNode(auth, pods);
      this.zones.set(apexKey, zone);
    }
    return zone;
  }

  // A reverse name is ours when it lies in an octet/nibble-aligned zone inside one of our CIDRs.
  private reverseZoneOf(key: string, v6: boolean): ZoneNode | undefined {
    const labels = keyLabels(key).slice(0, -2).reverse(); // most significant first
    const unit = v6 ? 4 : 8;
    for (const { cidr, auth } of this.reverse) {
      if ((cidr.family === 'IPv6') !== v6) continue;
      const kept = Math.ceil(cidr.prefix / unit);
      if (labels.length < kept) continue;
      const bytes = new Uint8Array(v6 ? 16 : 4);
      let valid = true;
      for (let i = 0; i < kept && valid; i++) {
        const l = labels[i]!;
        const v = v6 ? (/^[0-9a-f]$/.test(l) ? parseInt(l, 16) : NaN) : /^(0|[1-9]\d{0,2})$/.test(l) ? Number(l) : NaN;
        if (!(v >= 0 && v < 1 << unit)) valid = false;
        else if (v6) bytes[i >> 1]! |= i % 2 ? v : v << 4;
        else bytes[i] = v;
      }
      if (!valid || !cidrContains(cidr, bytes, kept * unit)) continue;
      const apexKey = labels.slice(0, kept).reverse().map(label).join('') + (v6 ? IP6_ARPA : IN_ADDR_ARPA);
      return this.zoneNode({ ...auth, apexKey });
    }
    return undefined;
  }
}

const IN_ADDR_ARPA = '\x07in-addr\x04arpa\0';
const IP6_ARPA = '\x03ip6\x04arpa\0';

/** selectAnswer picks the prebuilt answer for a type at an existing name; undefined means NODATA. */
export function selectAnswer(node: NameNode, qtype: number): Prebuilt | undefined {
  if (qtype === TYPE.A) return node.a ?? node.cname;
  if (qtype === TYPE.AAAA) return node.aaaa ?? node.cname;
  if (qtype === TYPE.ANY) return node.any;
  if (node.other) for (const [t, p] of node.other) if (t === qtype) return p;
  return node.cname;
}

function buildNode(key: string, entry: NameRecords, zone: ZoneNode, records: RecordTable, arena: Arena): NameNode {
  const node: NameNode = { zone };
  const cname = entry.rrsets.find((s) => s.type === TYPE.CNAME);
  if (cname) {
    // RFC 1034 §3.6.2: an alias answers every type with its CNAME; in-zone targets are chased.
    node.cname = prebuild(arena, key, [[key, cname]], []);
    for (const qtype of [TYPE.A, TYPE.AAAA]) {
      const chain = chase(key, cname, qtype, records);
      if (chain.length > 1) node[qtype === TYPE.A ? 'a' : 'aaaa'] = prebuild(arena, key, chain, []);
    }
    node.any = node.cname;
    return node;
  }
  for (const set of entry.rrsets) {
    const p = prebuild(arena, key, [[key, set]], additionalsFor(set, records));
    if (set.type === TYPE.A) node.a = p;
    else if (set.type === TYPE.AAAA) node.aaaa = p;
    else (node.other ??= []).push([set.type, p]);
  }
  node.any = node.a ?? node.aaaa ?? node.other?.[0]?.[1];
  return node;
}

// Follows CNAMEs inside our own records, at most 8 hops, for the CNAME-then-target answer.
function chase(key: string, cname: RRSet, qtype: number, records: RecordTable): Array<[string, RRSet]> {
  const chain: Array<[string, RRSet]> = [[key, cname]];
  const seen = new Set([key]);
  let set: RRSet | undefined = cname;
  while (set && chain.length < 9) {
    const first: Rdata | undefined = set.records[0];
    if (!first || first.type !== TYPE.CNAME) break;
    const targetKey = first.target;
    const target = records.names.get(targetKey);
    if (!target || seen.has(targetKey)) break;
    seen.add(targetKey);
    set = target.rrsets.find((s) => s.type === qtype) ?? target.rrsets.find((s) => s.type === TYPE.CNAME);
    if (set) chain.push([targetKey, set]);
  }
  return chain;
}

// Additional records (RFC 1035 §3.3.9/§3.3.11, RFC 2782): addresses of SRV and NS targets.
function additionalsFor(set: RRSet, records: RecordTable): Array<[string, RRSet]> {
  if (set.type !== TYPE.SRV && set.type !== TYPE.NS) return [];
  const out: Array<[string, RRSet]> = [];
  const done = new Set<string>();
  for (const r of set.records) {
    if ((r.type !== TYPE.SRV && r.type !== TYPE.NS) || done.has(r.target)) continue;
    done.add(r.target);
    for (const s of records.names.get(r.target)?.rrsets ?? []) {
      if (s.type === TYPE.A || s.type === TYPE.AAAA) out.push([r.target, s]);
    }
  }
  return out;
}

/** prebuild encodes answer and additional records for a question name into an arena. */
export function prebuild(arena: Arena, qkey: string, answer: Array<[string, RRSet]>, additional: Array<[string, RRSet]>, aa = true): Prebuilt {
  const w = new BodyWriter(qkey);
  let runStart = 0;
  let runCount = 0;
  let runSize = 0;
  for (const [owner, set] of answer) {
    const before = w.size;
    const n = w.rrset(0, owner, set);
    // Rotate the first multi-record address set: its records have the same size (compressed owner).
    if (runCount === 0 && n > 1 && (set.type === TYPE.A || set.type === TYPE.AAAA)) {
      runStart = before;
      runCount = n;
      runSize = (w.size - before) / n;
    }
  }
  const answerFull = w.full;
  const answerLen = w.size;
  for (const [owner, set] of additional) w.rrset(2, owner, set);
  const [an, ns, ar] = w.counts;
  w.finish(arena);
  return {
    kind: 'answer',
    aa,
    rcode: RCODE.NOERROR,
    buf: arena.lastBuf,
    start: arena.lastStart,
    len: arena.lastLen,
    an,
    ns,
    ar,
    leanLen: ar ? answerLen : -1,
    runStart,
    runCount: Number.isInteger(runSize) ? runCount : 0,
    runSize,
    truncated: answerFull,
    turn: 0,
  };
}

// Pod names in "insecure" mode (kubeadm's default): a-b-c-d.<ns>.pod.<zone> answers a.b.c.d when
// the namespace exists; any other type at such a name is NODATA.
function podAnswer(zone: ZoneNode, key: string, qtype: number): Prebuilt | NegativeReply | undefined {
  const pods = zone.pods;
  if (!pods) return undefined;
  const ns = parentKey(key);
  if (!ns || parentKey(ns) !== pods.podKey) return undefined;
  if (!pods.namespaces.has(firstLabel(ns))) return undefined;
  const ip = dashedToIP(firstLabel(key));
  if (!ip) return undefined;
  const type = ip.includes(':') ? TYPE.AAAA : TYPE.A;
  if (qtype !== type && qtype !== TYPE.ANY) return zone.nodata;
  return prebuild(new Arena(64), key, [[key, { type, ttl: pods.ttl, records: [{ type, ip }] }]], []);
}

function keyLabels(key: string): string[] {
  const labels: string[] = [];
  for (let i = 0; i < key.length - 1; i += key.charCodeAt(i) + 1) labels.push(key.slice(i + 1, i + 1 + key.charCodeAt(i)));
  return labels;
}

// A name of exactly `n` bytes (n is 0 or at least 2) of labels that nothing compresses against.
function filler(n: number): string {
  let s = '';
  while (n > 0) {
    let len = Math.min(63, n - 1);
    if (n - len - 1 === 1) len--; // never leave a single byte: a label takes at least two
    s += String.fromCharCode(len) + '\xff'.repeat(len);
    n -= len + 1;
  }
  return s;
}
