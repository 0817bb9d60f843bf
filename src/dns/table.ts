import { cidrContains, type Cidr } from '../net/ip.js';
import { Arena, BodyWriter } from './encode.js';
import type { Prebuilt } from './message.js';
import { dashedToIP, firstLabel, label, parentKey } from './names.js';
import { encodeAnswer, makePrebuilt, NameNode, type NameStore, type ZoneRef } from './cells.js';
import type { Authority } from './records.js';
import { RCODE, TYPE, type RRSet } from './types.js';

export { NameNode } from './cells.js';

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

/**
 * ZoneNode is a zone svcdns is authoritative for (a cluster domain or a reverse zone of its CIDRs)
 * as one snapshot serves it: with that snapshot's SOA serial.
 */
export class ZoneNode {
  readonly apexKey: string;
  readonly nxdomain: NegativeReply;
  readonly nodata: NegativeReply;
  /** SOA bodies by the offset of the zone inside the question name: at most 256, built on first use. */
  private readonly soaBodies: Array<Buffer | undefined> = [];
  private soaAnswer: Prebuilt | undefined;

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

  /** soa is the answer to SOA (and ANY) at the apex. */
  get soa(): Prebuilt {
    this.soaAnswer ??= prebuild(this.arena, this.apexKey, [[this.apexKey, { type: TYPE.SOA, ttl: this.auth.ttl, records: [{ type: TYPE.SOA, soa: this.auth.soa }] }]], []);
    return this.soaAnswer;
  }
}

/** TableShape is what every snapshot of one full build shares: its zones and their CIDRs. */
export interface TableShape {
  /** Apexes of the cluster domains and of the reverse zones of their CIDRs. */
  readonly apexes: Map<string, ZoneRef>;
  /** The CIDRs of each cluster domain, in order: service CIDRs, then pod CIDRs. */
  readonly reverse: ReadonlyArray<{ cidr: Cidr; cluster: number }>;
  /** The apex ref of each cluster domain. */
  readonly clusters: readonly ZoneRef[];
}

/**
 * DnsTable is the DNS side of a snapshot: every name's answers, prebuilt as wire bytes. Snapshots
 * built from one full build share one NameStore, each seeing the versions of its own generation,
 * so a change costs what it changes and an older snapshot keeps its answers.
 */
export class DnsTable {
  /** The names of this snapshot: whether one exists, how many there are, and (tools, tests) which. */
  readonly names: { has(key: string): boolean; readonly size: number; keys(): IterableIterator<string> };
  private readonly zoneNodes = new Map<ZoneRef, ZoneNode>();

  constructor(
    private readonly store: NameStore,
    private readonly shape: TableShape,
    /** The generation this snapshot sees. */
    readonly gen: number,
    /** Its SOA serial. */
    readonly serial: number,
    /** Namespaces of each cluster domain (for pod names). */
    private readonly namespaces: ReadonlyArray<ReadonlySet<string>>,
    size: number,
  ) {
    this.names = { has: (key) => store.resolve(key, gen) !== undefined, size, keys: () => this.keys() };
    store.track(this, gen);
  }

  /** answerFor returns the answer, NODATA/NXDOMAIN, or undefined when no zone of ours holds the name. */
  answerFor(key: string, qtype: number): Prebuilt | NegativeReply | undefined {
    const v = this.store.cells.get(key);
    if (v !== undefined) {
      let node: NameNode | undefined = typeof v === 'number' ? this.store.materialize(key, v) : v;
      while (node !== undefined && node.gen > this.gen) node = node.prev;
      if (node !== undefined && !node.dead) {
        const p = selectAnswer(node, qtype);
        if (p !== undefined) return p;
        const zone = this.zoneNode(node.zone);
        return node.apex && (qtype === TYPE.SOA || qtype === TYPE.ANY) ? zone.soa : zone.nodata;
      }
    }
    const zone = this.zoneOf(key);
    if (!zone) return undefined;
    if (zone.pods) return podAnswer(zone, key, qtype) ?? zone.nxdomain;
    return zone.nxdomain;
  }

  /** keys lists the names of this snapshot (as keys), in no particular order: for tools and tests. */
  *keys(): IterableIterator<string> {
    for (const key of this.store.cells.keys()) if (this.store.resolve(key, this.gen)) yield key;
  }

  /** lookup gives the name as this snapshot has it, for tools and tests. */
  lookup(key: string): NameNode | undefined {
    return this.store.resolve(key, this.gen);
  }

  /** zoneOf finds the zone of ours that a name falls in, matching whole labels. */
  zoneOf(key: string): ZoneNode | undefined {
    for (let k: string | undefined = key; k !== undefined; k = parentKey(k)) {
      // Reverse zones are only those inside our CIDRs, never the whole in-addr.arpa. tree.
      if (k === IN_ADDR_ARPA || k === IP6_ARPA) return this.reverseZoneOf(key, k === IP6_ARPA);
      const ref = this.shape.apexes.get(k);
      if (ref) return this.zoneNode(ref);
    }
    return undefined;
  }

  private zoneNode(ref: ZoneRef): ZoneNode {
    let zone = this.zoneNodes.get(ref);
    if (!zone) {
      const auth = { ...ref.auth, soa: { ...ref.auth.soa, serial: this.serial } };
      const pods = ref.pods && { ...ref.pods, namespaces: this.namespaces[ref.cluster] ?? new Set<string>() };
      zone = new ZoneNode(auth, pods);
      this.zoneNodes.set(ref, zone);
    }
    return zone;
  }

  // A reverse name is ours when it lies in an octet/nibble-aligned zone inside one of our CIDRs.
  private reverseZoneOf(key: string, v6: boolean): ZoneNode | undefined {
    const labels = keyLabels(key).slice(0, -2).reverse(); // most significant first
    const unit = v6 ? 4 : 8;
    for (const { cidr, cluster } of this.shape.reverse) {
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
      let ref = this.shape.apexes.get(apexKey);
      if (!ref) {
        const c = this.shape.clusters[cluster]!;
        ref = this.store.ref(apexKey, { ...c.auth, apexKey }, cluster);
        this.shape.apexes.set(apexKey, ref);
      }
      return this.zoneNode(ref);
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

/** prebuild encodes answer and additional records for a question name into an arena. */
export function prebuild(arena: Arena, qkey: string, answer: Array<[string, RRSet]>, additional: Array<[string, RRSet]>): Prebuilt {
  const e = encodeAnswer(qkey, answer, additional);
  e.writer.finish(arena);
  return makePrebuilt(arena.lastBuf, arena.lastStart, arena.lastLen, e.an, e.ns, e.ar, e.leanLen, e.runStart, e.runCount, e.runSize, e.truncated);
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
