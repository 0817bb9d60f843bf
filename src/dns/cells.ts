import { flat } from '../flat.js';
import { BodyWriter } from './encode.js';
import type { Prebuilt } from './message.js';
import type { Authority } from './records.js';
import { RCODE, TYPE, type RRSet } from './types.js';

/**
 * ZoneRef is a zone a name belongs to: a cluster domain, a reverse zone of its CIDRs, or the
 * detached part of the reverse tree (PTRs of addresses outside every CIDR). It is stable for as
 * long as the zone settings are; the SOA serial, which changes with every snapshot, is not in it.
 */
export interface ZoneRef {
  readonly index: number;
  readonly apexKey: string;
  /** Authority with serial 0: each snapshot puts its own serial in. */
  readonly auth: Authority;
  /** Index of the cluster zone the name's SOA comes from (for namespaces of pod names). */
  readonly cluster: number;
  /** Pod names a-b-c-d.<ns>.pod.<zone>, for a cluster domain with pods: insecure. */
  readonly pods?: { podKey: string; ttl: number };
}

/** AnswerSpec is one answer of a name: the records of its answer and additional sections. */
export interface AnswerSpec {
  /** The query type it answers; for the alias answer, CNAME. */
  type: number;
  /** The CNAME of an alias, the answer to every type that has no chased answer (RFC 1034 §3.6.2). */
  cname: boolean;
  answer: Array<[string, RRSet]>;
  additional: Array<[string, RRSet]>;
}

/**
 * NameNode is one version of an existing name with its answers. A name written by a full build is
 * kept compactly (see NameStore) and becomes a NameNode the first time it is asked for; a name
 * changed later is a NameNode with the generation it appeared at and the version it replaced, so
 * older snapshots keep answering as they did.
 */
export class NameNode {
  a: Prebuilt | undefined = undefined;
  aaaa: Prebuilt | undefined = undefined;
  /** Answers for other types, as [type, answer] pairs (usually one or two). */
  other: Array<[number, Prebuilt]> | undefined = undefined;
  /** For an alias (ExternalName): the CNAME alone, the answer to any type without a chased one. */
  cname: Prebuilt | undefined = undefined;
  /** RFC 8482: ANY gets one RRset of the name, not all of them. */
  any: Prebuilt | undefined = undefined;
  /** The version this one replaced, while a snapshot older than `gen` may still ask. */
  prev: NameNode | undefined = undefined;

  constructor(
    readonly zone: ZoneRef,
    /** The generation (snapshot) this version appeared in. */
    readonly gen: number,
    /** Where its record lives in the store (-1 for a deletion). */
    readonly pos: number,
    /** A zone apex: its SOA (and ANY) come from the zone, with the serial of each snapshot. */
    readonly apex: boolean,
    /** The name was deleted at `gen`. */
    readonly dead: boolean,
  ) {}
}

/** makePrebuilt creates a Prebuilt; every Prebuilt is made here so that they all share one shape (the hot path stays monomorphic). */
export function makePrebuilt(buf: Buffer, start: number, len: number, an: number, ns: number, ar: number, leanLen: number, runStart: number, runCount: number, runSize: number, truncated: boolean): Prebuilt {
  return { kind: 'answer', aa: true, rcode: RCODE.NOERROR, buf, start, len, an, ns, ar, leanLen, runStart, runCount, runSize, truncated, turn: 0 };
}

/** EncodedAnswer is an answer written by a BodyWriter, with what the hot path needs to know about it. */
export interface EncodedAnswer {
  writer: BodyWriter;
  an: number;
  ns: number;
  ar: number;
  leanLen: number;
  runStart: number;
  runCount: number;
  runSize: number;
  truncated: boolean;
}

/** encodeAnswer encodes answer and additional records for a question name (the body stays in the writer's scratch). */
export function encodeAnswer(qkey: string, answer: Array<[string, RRSet]>, additional: Array<[string, RRSet]>): EncodedAnswer {
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
  const truncated = w.full;
  const answerLen = w.size;
  for (const [owner, set] of additional) w.rrset(2, owner, set);
  const [an, ns, ar] = w.counts;
  const whole = Number.isInteger(runSize);
  return { writer: w, an, ns, ar, leanLen: ar ? answerLen : -1, runStart, runCount: whole ? runCount : 0, runSize: whole ? runSize : 0, truncated };
}

// Record layout: u32 length, u16 zone ref, u8 answer count, u8 flags (1: apex), then 20 bytes per
// answer (u16 type, u8 role (1: cname), u8 truncated, u16 len, an, ns, ar, leanLen (0xffff: none),
// runStart, runCount, runSize), then the bodies in order.
const HEAD = 8;
const ENTRY = 20;
const SPAN = 1 << 20; // positions: chunk index * SPAN + offset, always a small integer (Smi)
const MAX_CHUNKS = 2047;
const FIRST_CHUNK = 1 << 16;

interface Chunk {
  index: number;
  buf: Buffer;
  used: number;
  /** Bytes of records that are the current version of their name. */
  live: number;
  /** Names written here (with repeats and names since moved), for relocating what is left. */
  keys: string[];
}

/** StoreStats count what the store holds and does, for tests and metrics. */
export interface StoreStats {
  chunks: number;
  bytes: number;
  liveBytes: number;
  relocated: number;
  pruned: number;
}

/**
 * NameStore holds every name of one full build and of the incremental changes that follow it, for
 * all snapshots built from it (multi-version, as a database would):
 *  - `cells` maps each key to its current version: a number (the position of its record, written
 *    by the full build and never changed since: no object per name until it is asked for) or a
 *    NameNode (materialized, or changed after the full build; older versions hang off `prev`).
 *  - Records (answers prebuilt as wire bytes) live in a few large chunks. Bytes of replaced
 *    versions are counted; a chunk that is mostly dead has its live records moved, so memory stays
 *    proportional to what is live, however long the registry keeps changing.
 *  - A snapshot sees the newest version at or below its generation. Versions no live snapshot can
 *    see are dropped: snapshots are tracked with a FinalizationRegistry, so an old snapshot held by
 *    anyone stays exact for as long as it is held.
 */
export class NameStore {
  readonly cells = new Map<string, number | NameNode>();
  readonly refs: ZoneRef[] = [];
  /** Generation new versions are written at; the full build writes at the first one. */
  gen: number;
  /** Number of existing names at `gen`. */
  size = 0;
  private versioned = false;
  private readonly chunks: Array<Chunk | undefined> = [];
  private readonly free: number[] = [];
  private current: Chunk | undefined;
  private readonly sparse = new Set<number>();
  private stage = Buffer.allocUnsafeSlow(1 << 16);
  private readonly queueKeys: string[] = [];
  private readonly queueGens: number[] = [];
  private queueHead = 0;
  private readonly alive = new Set<number>();
  private readonly finalizer = new FinalizationRegistry<number>((gen) => this.alive.delete(gen));
  private relocated = 0;
  private pruned = 0;

  /** The generation of the full build: compact records (numbers in `cells`) are of it. */
  readonly baseGen: number;

  constructor(gen: number) {
    this.gen = this.baseGen = gen;
  }

  /** ref registers a zone and returns its reference. */
  ref(apexKey: string, auth: Authority, cluster: number, pods?: { podKey: string; ttl: number }): ZoneRef {
    const ref: ZoneRef = { index: this.refs.length, apexKey, auth, cluster, ...(pods ? { pods } : {}) };
    if (ref.index > 0xffff) throw new Error('too many zones');
    this.refs.push(ref);
    return ref;
  }

  /** beginChanges starts writing versions at a new generation (after the full build, every write is one). */
  beginChanges(gen: number): void {
    this.versioned = true;
    this.gen = gen;
  }

  /** track keeps the versions a snapshot of generation `gen` sees for as long as `holder` lives. */
  track(holder: object, gen: number): void {
    this.alive.add(gen);
    this.finalizer.register(holder, gen);
  }

  /** resolve gives the version of a name that generation `gen` sees; undefined when it does not exist there. */
  resolve(key: string, gen: number): NameNode | undefined {
    const v = this.cells.get(key);
    if (v === undefined) return undefined;
    let node: NameNode | undefined = typeof v === 'number' ? this.materialize(key, v) : v;
    while (node !== undefined && node.gen > gen) node = node.prev;
    return node === undefined || node.dead ? undefined : node;
  }

  /** exists tells whether a name exists now (at the generation being written). */
  exists(key: string): boolean {
    const v = this.cells.get(key);
    return v !== undefined && (typeof v === 'number' || !v.dead);
  }

  /** put writes a name's answers as its new version. */
  put(key: string, ref: ZoneRef, apex: boolean, specs: readonly AnswerSpec[]): void {
    key = flat(key); // kept for as long as the name exists
    const pos = this.write(key, ref, apex, specs);
    const head = this.cells.get(key);
    if (head === undefined || (typeof head !== 'number' && head.dead)) this.size++;
    if (head !== undefined) this.release(head);
    if (!this.versioned) {
      this.cells.set(key, pos);
      return;
    }
    const node = this.decode(pos, this.gen);
    node.prev = head === undefined ? undefined : typeof head === 'number' ? this.decode(head, this.baseGen) : head;
    this.cells.set(key, node);
    this.enqueue(key);
  }

  /** remove deletes a name (a tombstone version while older snapshots may still see it). */
  remove(key: string): void {
    const head = this.cells.get(key);
    if (head === undefined || (typeof head !== 'number' && head.dead)) return;
    this.size--;
    this.release(head);
    if (!this.versioned) {
      this.cells.delete(key);
      return;
    }
    const prev = typeof head === 'number' ? this.decode(head, this.baseGen) : head;
    const tomb = new NameNode(prev.zone, this.gen, -1, false, true);
    tomb.prev = prev;
    this.cells.set(key, tomb);
    this.enqueue(key);
  }

  /**
   * maintain drops versions no snapshot can see any more and moves the live records out of
   * mostly-dead chunks, a bounded amount per call (it runs after each batch of changes).
   */
  maintain(budget = 1 << 20): void {
    this.prune();
    for (const index of [...this.sparse]) {
      if (budget <= 0) break;
      budget -= this.relocate(index);
    }
  }

  /** stats tells how much the store holds. */
  stats(): StoreStats {
    let bytes = 0;
    let liveBytes = 0;
    let chunks = 0;
    for (const c of this.chunks) {
      if (!c) continue;
      chunks++;
      bytes += c.buf.length;
      liveBytes += c.live;
    }
    return { chunks, bytes, liveBytes, relocated: this.relocated, pruned: this.pruned };
  }

  /** materialize turns a compact record into its NameNode, kept in place of the number for next time. */
  materialize(key: string, pos: number): NameNode {
    const node = this.decode(pos, this.baseGen);
    this.cells.set(key, node);
    return node;
  }

  // Writes a record and returns its position.
  private write(key: string, ref: ZoneRef, apex: boolean, specs: readonly AnswerSpec[]): number {
    const n = specs.length;
    if (n > 255) throw new Error(`too many answers at one name (${n})`);
    const headLen = HEAD + ENTRY * n;
    const meta: EncodedAnswer[] = [];
    let bodies = 0;
    for (const s of specs) {
      const e = encodeAnswer(key, s.answer, s.additional);
      const len = e.writer.size;
      if (bodies + len > this.stage.length) {
        const bigger = Buffer.allocUnsafeSlow(Math.max(this.stage.length * 2, bodies + len));
        this.stage.copy(bigger, 0, 0, bodies);
        this.stage = bigger;
      }
      e.writer.copyTo(this.stage, bodies);
      bodies += len;
      meta.push(e);
    }
    const total = headLen + bodies;
    const c = this.room(total);
    const b = c.buf;
    let at = c.used;
    b.writeUInt32BE(total, at);
    b.writeUInt16BE(ref.index, at + 4);
    b[at + 6] = n;
    b[at + 7] = apex ? 1 : 0;
    at += HEAD;
    for (let i = 0; i < n; i++) {
      const e = meta[i]!;
      b.writeUInt16BE(specs[i]!.type, at);
      b[at + 2] = specs[i]!.cname ? 1 : 0;
      b[at + 3] = e.truncated ? 1 : 0;
      b.writeUInt16BE(e.writer.size, at + 4);
      b.writeUInt16BE(e.an, at + 6);
      b.writeUInt16BE(e.ns, at + 8);
      b.writeUInt16BE(e.ar, at + 10);
      b.writeUInt16BE(e.leanLen < 0 ? 0xffff : e.leanLen, at + 12);
      b.writeUInt16BE(e.runStart, at + 14);
      b.writeUInt16BE(e.runCount, at + 16);
      b.writeUInt16BE(e.runSize, at + 18);
      at += ENTRY;
    }
    this.stage.copy(b, at, 0, bodies);
    const pos = c.index * SPAN + c.used;
    c.used += total;
    c.live += total;
    c.keys.push(key);
    return pos;
  }

  // Reads a record into a NameNode of generation `gen`.
  private decode(pos: number, gen: number): NameNode {
    const c = this.chunks[Math.floor(pos / SPAN)]!;
    const b = c.buf;
    let at = pos % SPAN;
    const n = b[at + 6]!;
    const apex = (b[at + 7]! & 1) !== 0;
    const node = new NameNode(this.refs[b.readUInt16BE(at + 4)]!, gen, pos, apex, false);
    let body = at + HEAD + ENTRY * n;
    at += HEAD;
    for (let i = 0; i < n; i++, at += ENTRY) {
      const type = b.readUInt16BE(at);
      const len = b.readUInt16BE(at + 4);
      const lean = b.readUInt16BE(at + 12);
      const p = makePrebuilt(b, body, len, b.readUInt16BE(at + 6), b.readUInt16BE(at + 8), b.readUInt16BE(at + 10), lean === 0xffff ? -1 : lean, b.readUInt16BE(at + 14), b.readUInt16BE(at + 16), b.readUInt16BE(at + 18), b[at + 3] === 1);
      body += len;
      if (b[at + 2] === 1) node.cname = p;
      else if (type === TYPE.A) node.a = p;
      else if (type === TYPE.AAAA) node.aaaa = p;
      else (node.other ??= []).push([type, p]);
    }
    if (node.cname) node.any = node.cname;
    else if (!apex) node.any = node.a ?? node.aaaa ?? node.other?.[0]?.[1];
    return node;
  }

  // The chunk to write `len` more bytes into.
  private room(len: number): Chunk {
    const c = this.current;
    if (c && c.used + len <= c.buf.length) return c;
    if (c && c.live === 0) this.drop(c);
    else if (c && c.live * 4 < c.used) this.sparse.add(c.index);
    const size = Math.min(SPAN, Math.max(len, c ? c.buf.length * 2 : FIRST_CHUNK));
    if (len > SPAN) throw new Error(`record of ${len} bytes`);
    const index = this.free.pop() ?? this.chunks.length;
    if (index > MAX_CHUNKS) throw new Error('name store is full');
    const next: Chunk = { index, buf: Buffer.allocUnsafeSlow(size), used: 0, live: 0, keys: [] };
    this.chunks[index] = next;
    this.current = next;
    return next;
  }

  // The bytes of a name's current version are dead once it is replaced or removed.
  private release(head: number | NameNode): void {
    const pos = typeof head === 'number' ? head : head.pos;
    if (pos < 0) return;
    const c = this.chunks[Math.floor(pos / SPAN)]!;
    c.live -= c.buf.readUInt32BE(pos % SPAN);
    if (c === this.current) return;
    if (c.live === 0) this.drop(c);
    else if (c.live * 4 < c.used) this.sparse.add(c.index);
  }

  private drop(c: Chunk): void {
    // Older versions may still point into the buffer: it goes when they do (garbage collected).
    this.chunks[c.index] = undefined;
    this.sparse.delete(c.index);
    this.free.push(c.index);
  }

  // Moves the live records of a chunk to the current one; returns the bytes moved.
  private relocate(index: number): number {
    const c = this.chunks[index];
    this.sparse.delete(index);
    if (!c || c === this.current) return 0;
    let moved = 0;
    for (const key of c.keys) {
      const v = this.cells.get(key);
      if (v === undefined) continue;
      const pos = typeof v === 'number' ? v : v.pos;
      if (pos < 0 || Math.floor(pos / SPAN) !== index) continue;
      const len = c.buf.readUInt32BE(pos % SPAN);
      const to = this.room(len);
      c.buf.copy(to.buf, to.used, pos % SPAN, (pos % SPAN) + len);
      const movedTo = to.index * SPAN + to.used;
      to.used += len;
      to.live += len;
      to.keys.push(key);
      c.live -= len;
      moved += len;
      if (typeof v === 'number') {
        this.cells.set(key, movedTo);
      } else {
        // The same version (generation, answers, older versions), its bytes elsewhere.
        const same = this.decode(movedTo, v.gen);
        same.prev = v.prev;
        this.cells.set(key, same);
      }
    }
    this.relocated += moved;
    c.keys = [];
    if (c.live === 0) this.drop(c);
    return moved;
  }

  private enqueue(key: string): void {
    this.queueKeys.push(key);
    this.queueGens.push(this.gen);
  }

  // Drops versions older than the oldest snapshot still alive.
  private prune(): void {
    let oldest = this.gen;
    for (const g of this.alive) if (g < oldest) oldest = g;
    let i = this.queueHead;
    for (; i < this.queueKeys.length && this.queueGens[i]! <= oldest; i++) {
      const key = this.queueKeys[i]!;
      const head = this.cells.get(key);
      if (head === undefined || typeof head === 'number') continue;
      let n: NameNode | undefined = head;
      while (n !== undefined && n.gen > oldest) n = n.prev;
      if (n === undefined) continue;
      if (n.prev) this.pruned++;
      n.prev = undefined;
      if (n === head && head.dead) this.cells.delete(key);
    }
    this.queueHead = i;
    if (i > 4096 && i * 2 > this.queueKeys.length) {
      this.queueKeys.splice(0, i);
      this.queueGens.splice(0, i);
      this.queueHead = 0;
    }
  }
}
