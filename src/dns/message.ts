/**
 * The per-query hot path: a bounds-checked parse of the header and the one question, and the
 * assembly of a response from prebuilt bytes. No dns2 object, promise or closure per query.
 * The rare messages this parser cannot settle alone (extra records besides one OPT) go to
 * wire.ts, which reads them with dns2.
 */
import { RCODE, TYPE } from './types.js';

/** Where a query arrived: transports differ in size limits. */
export type Transport = 'udp' | 'tcp';

/** A response prebuilt when the snapshot was built: the records after the question. */
export interface Prebuilt {
  readonly kind: 'answer';
  readonly aa: boolean;
  readonly rcode: number;
  /** The body lives in `buf` (a snapshot's arena) from `start`, `len` bytes long. */
  readonly buf: Buffer;
  readonly start: number;
  readonly len: number;
  readonly an: number;
  readonly ns: number;
  readonly ar: number;
  /** Length of the body without its additional section, used when only that does not fit (RFC 2181 §9). */
  readonly leanLen: number;
  /** A run of same-size address records in the answer, rotated on every use (round robin). */
  readonly runStart: number;
  readonly runCount: number;
  readonly runSize: number;
  /** Set when the records did not all fit in 64 KiB: TC stays set even over TCP. */
  readonly truncated: boolean;
  /** Rotation position; the one mutable field of a snapshot. */
  turn: number;
}

/** Query is what the hot path reads from a message. */
export class Query {
  /** Non-negative when the message gets an error reply with this rcode. */
  error = -1;
  qtype = 0;
  qclass = 0;
  /** Offset just past the question (12 when the question could not be read). */
  qEnd = 12;
  /** Lower-cased wire name as a latin1 string (see names.ts); '' when not read. */
  key = '';
  /** EDNS0 UDP payload size from the OPT record; 0 when the query had no OPT. */
  ednsSize = 0;
  ednsDo = false;

  constructor(
    readonly buf: Buffer,
    readonly transport: Transport,
    /** The client's address ('' when not known, e.g. in unit tests). */
    readonly client = '',
  ) {}

  /** id is the query's message ID. */
  get id(): number {
    return this.buf.readUInt16BE(0);
  }
}

const keyScratch = Buffer.allocUnsafe(256);

// Buffer's own latin1 slicer: toString('latin1', ...) is the same call behind argument checks that
// cost as much as the whole lookup here. Node has it on every Buffer; fall back when it is gone.
interface Latin1Slicer {
  latin1Slice?: (start: number, end: number) => string;
}
const slicer = keyScratch as unknown as Latin1Slicer;
const keyOf: (len: number) => string = typeof slicer.latin1Slice === 'function' ? (len) => slicer.latin1Slice!(0, len) : (len) => keyScratch.toString('latin1', 0, len);

/**
 * copyBytes copies len octets from src at `from` to dst at `to`. Buffer#copy checks its arguments
 * and makes a view per call, several times the cost of the copy for the few dozen octets of a
 * question or an answer; a plain loop is what V8 compiles best at that size.
 */
export function copyBytes(src: Uint8Array, from: number, dst: Uint8Array, to: number, len: number): void {
  if (len > 96) {
    dst.set(src.subarray(from, from + len), to);
    return;
  }
  for (let i = 0; i < len; i++) dst[to + i] = src[from + i]!;
}

/**
 * parseQuery reads header, question and OPT. It returns null for messages that get no reply at
 * all: shorter than a header, or responses (QR=1, never answered: RFC 1035 §4.1.1, no reflection).
 * `needsFullParse` is set when records other than one leading OPT follow the question.
 */
export function parseQuery(buf: Buffer, transport: Transport, client = ''): (Query & { needsFullParse?: boolean }) | null {
  if (buf.length < 12 || buf[2]! & 0x80) return null;
  const q: Query & { needsFullParse?: boolean } = new Query(buf, transport, client);
  const opcode = (buf[2]! >> 3) & 0xf;
  const qdcount = buf.readUInt16BE(4);
  if (qdcount !== 1) {
    q.error = opcode !== 0 ? RCODE.NOTIMP : RCODE.FORMERR; // RFC 9619: one question per query
    return q;
  }
  // The question name: labels only, no compression pointer (nothing precedes it to point at).
  let pos = 12;
  let keyLen = 0;
  for (;;) {
    if (pos >= buf.length) return formerr(q);
    const len = buf[pos]!;
    if (len === 0) break;
    if (len > 63 || keyLen + len + 2 > 255) return formerr(q); // label types 01/10/11 or > 255 octets
    if (pos + 1 + len > buf.length) return formerr(q);
    keyScratch[keyLen++] = len;
    for (let i = pos + 1, end = pos + 1 + len; i < end; i++) {
      const c = buf[i]!;
      keyScratch[keyLen++] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    }
    pos += 1 + len;
  }
  keyScratch[keyLen++] = 0;
  pos++;
  if (pos + 4 > buf.length) return formerr(q);
  q.key = keyOf(keyLen);
  q.qtype = buf.readUInt16BE(pos);
  q.qclass = buf.readUInt16BE(pos + 2);
  q.qEnd = pos + 4;
  if (opcode !== 0) {
    q.error = RCODE.NOTIMP;
    return q;
  }
  const an = buf.readUInt16BE(6);
  const ns = buf.readUInt16BE(8);
  const ar = buf.readUInt16BE(10);
  if (an === 0 && ns === 0 && ar === 1 && readOpt(q, q.qEnd)) return q;
  if (an !== 0 || ns !== 0 || ar !== 0) q.needsFullParse = true;
  return q;
}

// An OPT record right after the question (RFC 6891 §6.1.2): root name, TYPE 41, CLASS = UDP size,
// TTL = extended rcode, version, DO. False when the record is something else or malformed.
function readOpt(q: Query, at: number): boolean {
  const buf = q.buf;
  if (at + 11 > buf.length || buf[at] !== 0 || buf.readUInt16BE(at + 1) !== TYPE.OPT) return false;
  const rdlen = buf.readUInt16BE(at + 9);
  if (at + 11 + rdlen > buf.length) return false;
  setEdns(q, buf.readUInt16BE(at + 3), buf[at + 6]!, (buf[at + 7]! & 0x80) !== 0);
  return true;
}

/** setEdns records a query's OPT: payload size, version (only 0 exists: else BADVERS) and DO. */
export function setEdns(q: Query, size: number, version: number, dnssecOk: boolean): void {
  q.ednsSize = Math.max(size, 512); // RFC 6891 §6.2.5: values below 512 are treated as 512
  q.ednsDo = dnssecOk;
  if (version !== 0) q.error = RCODE.BADVERS;
}

function formerr(q: Query): Query {
  q.error = RCODE.FORMERR;
  q.qEnd = 12;
  return q;
}

/** The largest UDP response svcdns sends: the DNS Flag Day 2020 default, safe from fragmentation. */
export const MAX_UDP_PAYLOAD = 1232;

/** sizeLimit is the largest response a query allows: 512 or its EDNS size (capped) over UDP, 64 KiB over TCP. */
export function sizeLimit(q: Query): number {
  if (q.transport === 'tcp') return 65535;
  return q.ednsSize ? Math.min(q.ednsSize, MAX_UDP_PAYLOAD) : 512;
}

const OPT_SIZE = 11;

/** answerFrom builds the response to q from a prebuilt answer: a copy with ID, flags and question patched in. */
export function answerFrom(q: Query, p: Prebuilt, ra: boolean): Buffer {
  const qLen = q.qEnd - 12;
  const opt = q.ednsSize ? OPT_SIZE : 0;
  const limit = sizeLimit(q);
  let bodyLen = p.len;
  let ar = p.ar;
  let tc = p.truncated;
  if (12 + qLen + bodyLen + opt > limit) {
    ar = 0;
    if (p.leanLen >= 0 && 12 + qLen + p.leanLen + opt <= limit) {
      bodyLen = p.leanLen; // without the additional section: no TC (RFC 2181 §9)
    } else {
      bodyLen = 0; // the answer itself does not fit: TC=1, the client retries over TCP
      tc = true;
    }
  }
  const out = Buffer.allocUnsafe(12 + qLen + bodyLen + opt);
  header(out, q, p.aa, tc, ra, p.rcode);
  counts(out, bodyLen ? p.an : 0, bodyLen ? p.ns : 0, (bodyLen ? ar : 0) + (opt ? 1 : 0));
  copyBytes(q.buf, 12, out, 12, qLen);
  const at = 12 + qLen;
  const src = p.buf;
  const s = p.start;
  if (bodyLen && p.runCount > 1) {
    const k = p.turn++ % p.runCount;
    if (p.turn >= p.runCount) p.turn = 0;
    const runEnd = p.runStart + p.runCount * p.runSize;
    const split = p.runStart + k * p.runSize;
    copyBytes(src, s, out, at, p.runStart);
    copyBytes(src, s + split, out, at + p.runStart, runEnd - split);
    copyBytes(src, s + p.runStart, out, at + p.runStart + (runEnd - split), split - p.runStart);
    copyBytes(src, s + runEnd, out, at + runEnd, bodyLen - runEnd);
  } else if (bodyLen) {
    copyBytes(src, s, out, at, bodyLen);
  }
  if (opt) writeOpt(out, at + bodyLen, 0, q.ednsDo);
  return out;
}

/** negativeFrom builds NXDOMAIN or NODATA from a zone's SOA body (see table.ts). */
export function negativeFrom(q: Query, soaBody: Buffer, rcode: number, ra: boolean): Buffer {
  const qLen = q.qEnd - 12;
  const opt = q.ednsSize ? OPT_SIZE : 0;
  const out = Buffer.allocUnsafe(12 + qLen + soaBody.length + opt);
  header(out, q, true, false, ra, rcode);
  counts(out, 0, 1, opt ? 1 : 0);
  copyBytes(q.buf, 12, out, 12, qLen);
  copyBytes(soaBody, 0, out, 12 + qLen, soaBody.length);
  if (opt) writeOpt(out, 12 + qLen + soaBody.length, 0, q.ednsDo);
  return out;
}

/** errorFrom builds a reply with no records: FORMERR, REFUSED, SERVFAIL, NOTIMP or BADVERS. */
export function errorFrom(q: Query, rcode: number, ra: boolean): Buffer {
  const qLen = q.qEnd - 12;
  // A failed OPT parse leaves ednsSize 0: FORMERR without OPT then, as RFC 6891 §7 asks.
  const opt = q.ednsSize ? OPT_SIZE : 0;
  const out = Buffer.allocUnsafe(12 + qLen + opt);
  header(out, q, false, false, ra, rcode & 0xf);
  out.writeUInt16BE(qLen ? 1 : 0, 4);
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(opt ? 1 : 0, 10);
  q.buf.copy(out, 12, 12, q.qEnd);
  if (opt) writeOpt(out, 12 + qLen, rcode >> 4, q.ednsDo);
  return out;
}

/** withId copies a complete message (e.g. a forwarded answer) and patches in the query's ID. */
export function withId(q: Query, message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(message.length);
  message.copy(out);
  out.writeUInt16BE(q.id, 0);
  return out;
}

function header(out: Buffer, q: Query, aa: boolean, tc: boolean, ra: boolean, rcode: number): void {
  const inFlags = q.buf[2]!;
  out[0] = q.buf[0]!;
  out[1] = q.buf[1]!;
  // QR, the query's opcode, AA, TC, the query's RD; then RA, the query's CD, RCODE.
  out[2] = 0x80 | (inFlags & 0x78) | (aa ? 0x04 : 0) | (tc ? 0x02 : 0) | (inFlags & 0x01);
  out[3] = (ra ? 0x80 : 0) | (q.buf[3]! & 0x10) | (rcode & 0x0f);
  out[4] = 0;
  out[5] = 1;
}

// ANCOUNT, NSCOUNT, ARCOUNT (RFC 1035 §4.1.1), written byte by byte: cheaper than three writeUInt16BE.
function counts(out: Buffer, an: number, ns: number, ar: number): void {
  out[6] = an >> 8;
  out[7] = an & 0xff;
  out[8] = ns >> 8;
  out[9] = ns & 0xff;
  out[10] = ar >> 8;
  out[11] = ar & 0xff;
}

/** writeOpt writes our OPT (RFC 6891 §6.1.2): payload size we accept, extended rcode, version 0, DO copied (RFC 3225 §3). */
export function writeOpt(out: Buffer, at: number, extRcode: number, dnssecOk: boolean): void {
  out[at] = 0;
  out[at + 1] = TYPE.OPT >> 8;
  out[at + 2] = TYPE.OPT & 0xff;
  out[at + 3] = MAX_UDP_PAYLOAD >> 8;
  out[at + 4] = MAX_UDP_PAYLOAD & 0xff;
  out[at + 5] = extRcode;
  out[at + 6] = 0;
  out[at + 7] = dnssecOk ? 0x80 : 0;
  out[at + 8] = 0;
  out[at + 9] = 0;
  out[at + 10] = 0;
}
