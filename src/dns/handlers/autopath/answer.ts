/**
 * The answer autopath sends: the question as asked, a CNAME from it to the search-list name that
 * resolved, then that name's answer records, decompressed so they can move into a new message
 * (RFC 1035 §4.1.4 pointers are offsets into the message they came from).
 */
import { readName, skipName, type MessageScan } from '../../scan.js';
import { TYPE } from '../../types.js';

// RDATA layouts with domain names that may be compressed (RFC 3597 §4): a number is that many
// fixed octets, 'n' is a name. SRV targets should not be compressed (RFC 2782) but some servers do.
const LAYOUTS = new Map<number, ReadonlyArray<number | 'n'>>([
  ...[TYPE.NS, 3, 4, TYPE.CNAME, 7, 8, 9, TYPE.PTR, 39].map((t): [number, Array<number | 'n'>] => [t, ['n']]),
  [TYPE.SOA, ['n', 'n', 20]],
  [14, ['n', 'n']], // MINFO
  [17, ['n', 'n']], // RP
  ...[TYPE.MX, 18, 21, 36].map((t): [number, Array<number | 'n'>] => [t, [2, 'n']]), // MX AFSDB RT KX
  [26, [2, 'n', 'n']], // PX
  [TYPE.SRV, [6, 'n']],
]);

/** Classification of a reply to one search-list name. */
export type Outcome = 'nxdomain' | 'positive' | 'other';

/**
 * classify tells what a client's resolver does with a reply while walking its search list:
 * NXDOMAIN moves on (every resolver does); an answer with records of the asked type ends the walk
 * (every resolver does); anything else (NODATA, SERVFAIL, REFUSED, truncation) is handled
 * differently by glibc and musl, so autopath stops and leaves the walk to the client.
 */
export function classify(scan: MessageScan | null, qtype: number): Outcome {
  if (!scan || scan.tc) return 'other';
  if (scan.rcode === 3) return 'nxdomain';
  if (scan.rcode !== 0) return 'other';
  if (qtype === TYPE.ANY ? scan.answerTypes.length > 0 : scan.answerTypes.includes(qtype)) return 'positive';
  return 'other';
}

/**
 * aliasAnswer builds the response body for the query (its header and question are `question`,
 * 12+ octets): CNAME original → `target` (a wire name) with `ttl`, then the answer records of
 * `found` (a whole message that answered the target). Null when a record cannot be read or the
 * result would not fit in a message.
 */
export function aliasAnswer(question: Buffer, target: Buffer, ttl: number, found: Buffer, scan: MessageScan): Buffer | null {
  const parts: Buffer[] = [question];
  const cname = Buffer.allocUnsafe(12);
  cname.writeUInt16BE(0xc00c, 0); // the question's name
  cname.writeUInt16BE(TYPE.CNAME, 2);
  cname.writeUInt16BE(1, 4);
  cname.writeUInt32BE(ttl, 6);
  cname.writeUInt16BE(target.length, 10);
  parts.push(cname, target);
  let at = scan.qEnd;
  for (let i = 0; i < scan.an; i++) {
    const owner = readName(found, at);
    if (!owner) return null;
    at = owner.end;
    const type = found.readUInt16BE(at);
    const rdlen = found.readUInt16BE(at + 8);
    const rdStart = at + 10;
    const rdata = copyRdata(found, type, rdStart, rdStart + rdlen);
    if (!rdata) return null;
    const fixed = Buffer.from(found.subarray(at, at + 10));
    fixed.writeUInt16BE(rdata.length, 8);
    parts.push(owner.wire, fixed, rdata);
    at = rdStart + rdlen;
  }
  const out = Buffer.concat(parts);
  if (out.length > 65535) return null;
  out[2] = 0x80; // QR; relay.ts sets RD, RA and CD for the client
  out[3] = 0; // NOERROR, no AD: the CNAME is ours and unsigned
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(1 + scan.an, 6);
  out.writeUInt32BE(0, 8);
  return out;
}

function copyRdata(buf: Buffer, type: number, start: number, end: number): Buffer | null {
  const layout = LAYOUTS.get(type);
  if (!layout) return buf.subarray(start, end); // no names, or names that are never compressed
  const parts: Buffer[] = [];
  let at = start;
  for (const f of layout) {
    if (f === 'n') {
      if (skipName(buf, at) < 0) return null;
      const n = readName(buf, at);
      if (!n || n.end > end) return null;
      parts.push(n.wire);
      at = n.end;
    } else {
      if (at + f > end) return null;
      parts.push(buf.subarray(at, at + f));
      at += f;
    }
  }
  if (at !== end) return null;
  return Buffer.concat(parts);
}
