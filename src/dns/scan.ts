/**
 * A bounded scan of a complete DNS message from elsewhere (an upstream's reply, a cached one):
 * section boundaries, the offsets of TTL fields, the SOA of a negative answer and the OPT record.
 * Every length is checked against the buffer, compression pointers must point backwards (no loops),
 * and nothing is decoded that the forwarder, cache and autopath do not use: ~1 µs per reply.
 */
import { TYPE } from './types.js';

/** MessageScan describes a message that scanMessage found well formed. */
export interface MessageScan {
  id: number;
  /** Header octets 2-3: QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE. */
  flags: number;
  /** The 4-bit header RCODE (the OPT's extended bits are in `opt.extRcode`). */
  rcode: number;
  tc: boolean;
  qdcount: number;
  /** Offset just past the question (12 without one). */
  qEnd: number;
  qtype: number;
  qclass: number;
  an: number;
  ns: number;
  ar: number;
  /** Where the authority and additional sections start, and where the last record ends. */
  nsStart: number;
  arStart: number;
  end: number;
  /** Offsets of the TTL field of every record except the OPT (RFC 6891 §6.1.3: its TTL is not one). */
  ttlAt: number[];
  /** Types of the answer records, in order. */
  answerTypes: number[];
  /** The smallest TTL in the answer and authority sections (RFC 2181 §8: values with the top bit set count as 0). */
  minTtl: number;
  /** The first SOA in the authority section: where its TTL is, its TTL and MINIMUM (RFC 2308 §5). */
  soa?: { ttlAt: number; ttl: number; minimum: number };
  /** The OPT record (RFC 6891 §6.1.2): where it is, the extended rcode bits and the DO bit. */
  opt?: { start: number; end: number; extRcode: number; dnssecOk: boolean };
}

/** skipName returns the offset after a (possibly compressed) name at `at`, or -1 when it is malformed. */
export function skipName(buf: Buffer, at: number): number {
  let len = 0;
  for (;;) {
    if (at >= buf.length) return -1;
    const b = buf[at]!;
    if (b === 0) return at + 1;
    if ((b & 0xc0) === 0xc0) {
      if (at + 1 >= buf.length) return -1;
      const ptr = ((b & 0x3f) << 8) | buf[at + 1]!;
      return ptr < at ? at + 2 : -1; // backwards only: a pointer can never start a loop
    }
    if (b & 0xc0) return -1; // label types 01 and 10 are not in use (RFC 6891 §5)
    len += b + 1;
    if (len > 255) return -1;
    at += b + 1;
  }
}

/**
 * readName decompresses the name at `at` into its uncompressed wire form (case kept). Each pointer
 * must point before the label it replaces, so the walk ends; the name is at most 255 octets.
 */
export function readName(buf: Buffer, at: number): { wire: Buffer; end: number } | null {
  const parts: Buffer[] = [];
  let len = 0;
  let end = -1;
  let pos = at;
  for (;;) {
    if (pos >= buf.length) return null;
    const b = buf[pos]!;
    if (b === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    if ((b & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) return null;
      const ptr = ((b & 0x3f) << 8) | buf[pos + 1]!;
      if (ptr >= pos) return null;
      if (end < 0) end = pos + 2;
      pos = ptr;
      continue;
    }
    if (b & 0xc0 || pos + 1 + b > buf.length) return null;
    len += b + 1;
    if (len + 1 > 255) return null;
    parts.push(buf.subarray(pos, pos + 1 + b));
    pos += 1 + b;
  }
  parts.push(ZERO);
  return { wire: Buffer.concat(parts, len + 1), end };
}
const ZERO = Buffer.from([0]);

/** scanMessage checks a whole message and describes it; null when any part is malformed. */
export function scanMessage(buf: Buffer): MessageScan | null {
  if (buf.length < 12) return null;
  const qdcount = buf.readUInt16BE(4);
  if (qdcount > 1) return null; // RFC 9619
  const s: MessageScan = {
    id: buf.readUInt16BE(0),
    flags: buf.readUInt16BE(2),
    rcode: buf[3]! & 0x0f,
    tc: (buf[2]! & 0x02) !== 0,
    qdcount,
    qEnd: 12,
    qtype: 0,
    qclass: 0,
    an: buf.readUInt16BE(6),
    ns: buf.readUInt16BE(8),
    ar: buf.readUInt16BE(10),
    nsStart: 0,
    arStart: 0,
    end: 0,
    ttlAt: [],
    answerTypes: [],
    minTtl: 0x7fffffff,
  };
  let at = 12;
  if (qdcount === 1) {
    at = skipName(buf, 12);
    if (at < 0 || at + 4 > buf.length) return null;
    s.qtype = buf.readUInt16BE(at);
    s.qclass = buf.readUInt16BE(at + 2);
    at += 4;
    s.qEnd = at;
  }
  const counts = [s.an, s.ns, s.ar];
  for (let section = 0; section < 3; section++) {
    if (section === 1) s.nsStart = at;
    if (section === 2) s.arStart = at;
    for (let i = counts[section]!; i > 0; i--) {
      const start = at;
      at = skipName(buf, at);
      if (at < 0 || at + 10 > buf.length) return null;
      const type = buf.readUInt16BE(at);
      const rawTtl = buf.readUInt32BE(at + 4);
      const rdlen = buf.readUInt16BE(at + 8);
      const rdata = at + 10;
      if (rdata + rdlen > buf.length) return null;
      if (type === TYPE.OPT) {
        // One OPT, in the additional section, owned by the root (RFC 6891 §6.1.1).
        if (section !== 2 || s.opt || buf[start] !== 0) return null;
        s.opt = { start, end: rdata + rdlen, extRcode: buf[at + 4]!, dnssecOk: (buf[at + 6]! & 0x80) !== 0 };
      } else {
        s.ttlAt.push(at + 4);
        const ttl = rawTtl > 0x7fffffff ? 0 : rawTtl;
        if (section < 2 && ttl < s.minTtl) s.minTtl = ttl;
        if (section === 0) s.answerTypes.push(type);
        if (section === 1 && type === TYPE.SOA && !s.soa) {
          // RDATA: MNAME, RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM (RFC 1035 §3.3.13).
          const rname = skipName(buf, rdata);
          const fixed = rname < 0 ? -1 : skipName(buf, rname);
          if (fixed < 0 || fixed + 20 !== rdata + rdlen) return null;
          s.soa = { ttlAt: at + 4, ttl, minimum: buf.readUInt32BE(fixed + 16) };
        }
      }
      at = rdata + rdlen;
    }
  }
  s.end = at;
  if (s.minTtl === 0x7fffffff) s.minTtl = 0;
  return s;
}
