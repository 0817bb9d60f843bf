/**
 * The messages svcdns exchanges with upstreams: the query it sends for a client's question and
 * the checks a reply must pass before it is used (RFC 5452 §9.1: ID, question name, type and
 * class must match what was asked).
 */
import { randomFillSync } from 'node:crypto';
import type { Query } from '../../message.js';
import { writeOpt } from '../../message.js';
import { scanMessage, skipName, type MessageScan } from '../../scan.js';
import { TYPE } from '../../types.js';

const ids = new Uint16Array(4096);
let nextId = ids.length;

/** randomId gives an unpredictable message ID (RFC 5452 §4.3), from a refilled pool of random bytes. */
export function randomId(): number {
  if (nextId >= ids.length) {
    randomFillSync(ids);
    nextId = 0;
  }
  return ids[nextId++]!;
}

/**
 * upstreamQuery builds the query svcdns sends for q: a new random ID, RD=1 (we want recursion
 * from upstream), the client's CD bit and question (with its case), and an OPT offering
 * MAX_UDP_PAYLOAD (1232) octets with the client's DO bit, so large answers come over UDP up to that size.
 */
export function upstreamQuery(q: Query, id = randomId()): Buffer {
  const qLen = q.qEnd - 12;
  const out = Buffer.allocUnsafe(12 + qLen + 11);
  out.writeUInt16BE(id, 0);
  out[2] = 0x01; // QUERY, RD
  out[3] = q.buf[3]! & 0x10; // CD
  out.writeUInt16BE(1, 4);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(1, 10);
  q.buf.copy(out, 12, 12, q.qEnd);
  writeOpt(out, 12 + qLen, 0, q.ednsDo); // offers MAX_UDP_PAYLOAD octets
  return out;
}

/** healthQuery is ". IN NS", what CoreDNS's forward sends to check an upstream. */
export function healthQuery(id = randomId()): Buffer {
  const out = Buffer.alloc(17);
  out.writeUInt16BE(id, 0);
  out[2] = 0x01;
  out.writeUInt16BE(1, 4);
  out[12] = 0;
  out.writeUInt16BE(TYPE.NS, 13);
  out.writeUInt16BE(1, 15);
  return out;
}

/** CheckedReply is an upstream's reply that answers the query: without its OPT, with its scan. */
export interface CheckedReply {
  message: Buffer;
  scan: MessageScan;
  /** Length without the additional section, or -1 when there is none. */
  leanLen: number;
}

/** Why a datagram was not taken as the reply. */
export type ReplyProblem = 'mismatch' | 'malformed';

/**
 * checkReply accepts a reply to `sent` when it is well formed, a response (QR=1) to a standard
 * query, with the same ID and the same question (name compared case-insensitively, type, class).
 * The OPT record is cut off: svcdns answers clients with its own (relay.ts).
 */
export function checkReply(reply: Buffer, sent: Buffer): CheckedReply | ReplyProblem {
  if (reply.length < 12 || reply.readUInt16BE(0) !== sent.readUInt16BE(0) || !(reply[2]! & 0x80)) return 'mismatch';
  const scan = scanMessage(reply);
  if (!scan) return 'malformed';
  if (((reply[2]! >> 3) & 0xf) !== 0 || scan.qdcount !== 1 || !sameQuestion(reply, scan.qEnd, sent)) return 'mismatch';
  let message = reply;
  if (scan.opt) {
    // Cut the OPT and whatever follows it; later records are never pointed at from before.
    let kept = 0;
    for (const at of scan.ttlAt) if (at > scan.arStart && at < scan.opt.start) kept++;
    message = Buffer.from(reply.subarray(0, scan.opt.start));
    message.writeUInt16BE(kept, 10);
    scan.ar = kept;
    scan.ttlAt = scan.ttlAt.filter((at) => at < scan.opt!.start);
    scan.end = scan.opt.start;
  }
  return { message, scan, leanLen: scan.ar > 0 ? scan.arStart : -1 };
}

function sameQuestion(reply: Buffer, qEnd: number, sent: Buffer): boolean {
  if (qEnd !== skipName(sent, 12) + 4) return false;
  for (let i = 12; i < qEnd; i++) {
    let a = reply[i]!;
    let b = sent[i]!;
    if (a >= 0x41 && a <= 0x5a) a |= 0x20;
    if (b >= 0x41 && b <= 0x5a) b |= 0x20;
    if (a !== b) return false;
  }
  return true;
}
