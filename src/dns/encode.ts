import { ipv4Bytes, parseIP } from '../net/ip.js';
import { CLASS_IN, TYPE, type RRSet, type Rdata } from './types.js';

/** The largest body (records after the question) a prebuilt answer may have, so TCP can carry it. */
export const MAX_BODY = 65000;

/** Section of a message a record goes into: answer, authority, additional. */
export type Section = 0 | 1 | 2;

// One scratch buffer for building: encoding happens when a snapshot is built, never per query.
const scratch = Buffer.allocUnsafe(12 + 259 + MAX_BODY + 1024);

/**
 * Arena keeps the prebuilt bodies of one snapshot in a few large buffers instead of one Buffer
 * object per answer: hundreds of thousands of answers cost their bytes, not their objects.
 */
export class Arena {
  private chunk: Buffer = Buffer.allocUnsafeSlow(0);
  private used = 0;

  /** chunkSize: bytes allocated at a time (1 MiB for a snapshot; small for one-off answers). */
  constructor(private readonly chunkSize = 1 << 20) {}

  /** Where the last stored bytes live: lastBuf from lastStart, lastLen bytes. */
  lastBuf: Buffer = this.chunk;
  lastStart = 0;
  lastLen = 0;

  /** store copies bytes in; lastBuf/lastStart/lastLen say where they now live. */
  store(src: Buffer, start: number, end: number): void {
    const len = end - start;
    if (this.used + len > this.chunk.length) {
      this.chunk = Buffer.allocUnsafeSlow(Math.max(len, this.chunkSize));
      this.used = 0;
    }
    src.copy(this.chunk, this.used, start, end);
    this.lastBuf = this.chunk;
    this.lastStart = this.used;
    this.lastLen = len;
    this.used += len;
  }
}

/**
 * BodyWriter encodes the records of a response that follow its question, for a question name
 * given as a key (see names.ts). Names are compressed (RFC 1035 §4.1.4) against the question and
 * earlier records, so owner names equal to the question point at offset 12 and come out in the
 * asker's case once the question is copied in.
 */
export class BodyWriter {
  private pos: number;
  private readonly start: number;
  // Names written in the body, for compression: each (key, start) stands for the suffix
  // key.slice(start), written at offset. A body holds a few names, so a scan beats a Map of
  // suffix strings, which cost a string and a hash per label (most of a full build's encoding).
  private sufKeys: string[] | null = null;
  private sufStarts: number[] = [];
  private sufOffsets: number[] = [];
  readonly counts: [number, number, number] = [0, 0, 0];
  /** Set when records had to be left out to keep the message within 64 KiB. */
  full = false;

  constructor(private readonly questionKey: string) {
    this.start = this.pos = 12 + questionKey.length + 4;
  }

  /** size is the number of body bytes written so far. */
  get size(): number {
    return this.pos - this.start;
  }

  /** rr appends one record; false (and nothing written) when it would not fit. */
  rr(section: Section, ownerKey: string, ttl: number, r: Rdata): boolean {
    const mark = this.pos;
    this.name(ownerKey, true);
    this.u16(r.type);
    this.u16(CLASS_IN);
    this.u32(ttl);
    const lenAt = this.pos;
    this.pos += 2;
    this.rdata(r);
    scratch.writeUInt16BE(this.pos - lenAt - 2, lenAt);
    if (this.pos - this.start > MAX_BODY) {
      this.pos = mark;
      // Forget the names of the record left out (they were written last).
      const n = this.sufOffsets.length;
      let keep = n;
      while (keep > 0 && this.sufOffsets[keep - 1]! >= mark) keep--;
      if (keep < n) {
        this.sufKeys!.length = keep;
        this.sufStarts.length = keep;
        this.sufOffsets.length = keep;
      }
      this.full = true;
      return false;
    }
    this.counts[section]++;
    return true;
  }

  /** rrset appends every record of a set; returns how many fit. */
  rrset(section: Section, ownerKey: string, set: RRSet): number {
    let n = 0;
    for (const r of set.records) {
      if (!this.rr(section, ownerKey, set.ttl, r)) break;
      n++;
    }
    return n;
  }

  /** finish stores the body written so far in an arena; `arena.last` tells where. */
  finish(arena: Arena): void {
    arena.store(scratch, this.start, this.pos);
  }

  /** copyTo copies the body written so far into `target` at `at`; it returns its length. */
  copyTo(target: Buffer, at: number): number {
    return scratch.copy(target, at, this.start, this.pos);
  }

  private rdata(r: Rdata): void {
    switch (r.type) {
      case TYPE.A:
      case TYPE.AAAA: {
        const bytes = r.type === TYPE.A ? ipv4Bytes(r.ip) : parseIP(r.ip)?.bytes;
        if (!bytes || bytes.length !== (r.type === TYPE.A ? 4 : 16)) throw new Error(`bad address ${r.ip} for type ${r.type}`);
        scratch.set(bytes, this.pos);
        this.pos += bytes.length;
        return;
      }
      case TYPE.CNAME:
      case TYPE.PTR:
      case TYPE.NS:
        return this.name(r.target, true);
      case TYPE.SRV:
        this.u16(r.priority);
        this.u16(r.weight);
        this.u16(r.port);
        // RFC 2782: the SRV target is not compressed (later names may still point at it).
        return this.name(r.target, false);
      case TYPE.TXT:
        for (const s of r.text) {
          const bytes = Buffer.from(s, 'utf8').subarray(0, 255);
          scratch[this.pos++] = bytes.length;
          scratch.set(bytes, this.pos);
          this.pos += bytes.length;
        }
        return;
      case TYPE.SOA: {
        const s = r.soa;
        this.name(s.mname, true);
        this.name(s.rname, true);
        for (const v of [s.serial, s.refresh, s.retry, s.expire, s.minimum]) this.u32(v);
        return;
      }
    }
  }

  private name(key: string, compress: boolean): void {
    if (compress && key === this.questionKey) {
      this.u16(0xc00c); // the most common name of all: the question itself, at offset 12
      return;
    }
    for (let i = 0; i < key.length - 1; i += key.charCodeAt(i) + 1) {
      const at = this.find(key, i);
      if (compress && at >= 0) {
        this.u16(0xc000 | at);
        return;
      }
      if (at < 0 && this.pos < 0x3fff) {
        (this.sufKeys ??= []).push(key);
        this.sufStarts.push(i);
        this.sufOffsets.push(this.pos);
      }
      // A key is the name's wire form (length-prefixed labels, one char per byte): copy the label.
      const len = key.charCodeAt(i);
      for (let j = 0; j <= len; j++) scratch[this.pos + j] = key.charCodeAt(i + j);
      this.pos += len + 1;
    }
    scratch[this.pos++] = 0;
  }

  // The offset of the suffix key.slice(i) in the message (the question's suffixes first, then
  // names of the body in the order written); -1 when it is not there yet.
  private find(key: string, i: number): number {
    const len = key.length - i;
    const q = this.questionKey;
    for (let j = 0; j < q.length - 1 && q.length - j >= len; j += q.charCodeAt(j) + 1) {
      if (q.length - j === len && sameTail(q, key, len)) return 12 + j;
    }
    const keys = this.sufKeys;
    if (keys === null) return -1;
    for (let n = 0; n < keys.length; n++) {
      const k = keys[n]!;
      if (k.length - this.sufStarts[n]! === len && sameTail(k, key, len)) return this.sufOffsets[n]!;
    }
    return -1;
  }

  private u16(v: number): void {
    scratch.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  private u32(v: number): void {
    scratch.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }
}

// Whether the last `len` characters of a and b are the same.
function sameTail(a: string, b: string, len: number): boolean {
  for (let k = 1; k <= len; k++) if (a.charCodeAt(a.length - k) !== b.charCodeAt(b.length - k)) return false;
  return true;
}
