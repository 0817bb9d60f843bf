/**
 * Turning handler replies into responses (`replyBytes`), and serving a complete message from
 * elsewhere (an upstream's answer, a cached copy, an autopath answer) to one client: a copy with
 * the client's ID, RD and CD bits and question bytes (so the asker's case comes back, as with
 * prebuilt answers), TTLs counted down for the time the answer spent in a cache, our own OPT, and
 * the client's size limit.
 */
import type { Reply, WireReply } from './handler.js';
import { answerFrom, errorFrom, negativeFrom, sizeLimit, writeOpt, type Query } from './message.js';
import { skipName } from './scan.js';

const OPT_SIZE = 11;

/** replyBytes turns any handler reply into the response to q; `ra` is the RA bit for this client. */
export function replyBytes(q: Query, reply: Reply, ra: boolean): Buffer {
  switch (reply.kind) {
    case 'answer':
      return answerFrom(q, reply, ra);
    case 'negative':
      return negativeFrom(q, reply.zone.soaBody(q.key.length - reply.zone.apexKey.length), reply.rcode, ra);
    case 'rcode':
      return errorFrom(q, reply.rcode, ra);
    case 'wire':
      return relayFrom(q, reply, ra);
  }
}

/** relayFrom builds the response to q from a WireReply; `ra` is the RA bit for this client. */
export function relayFrom(q: Query, reply: WireReply, ra: boolean): Buffer {
  const m = reply.message;
  const opt = q.ednsSize ? OPT_SIZE : 0;
  const limit = sizeLimit(q);
  let len = m.length;
  let dropAdditional = false;
  if (len + opt > limit) {
    const lean = reply.leanLen ?? -1;
    // RFC 2181 §9: leave out the additional section when only that does not fit; else TC=1 and
    // no records, and the client asks again over TCP (RFC 7766 §5).
    if (lean >= 12 && lean + opt <= limit) {
      len = lean;
      dropAdditional = true;
    } else {
      return truncated(q, m, ra);
    }
  }
  const out = Buffer.allocUnsafe(len + opt);
  m.copy(out, 0, 0, len);
  flags(out, q, m, ra, false);
  // The question as this client wrote it; the names in the answer that point at it follow.
  const qEnd = skipName(m, 12) + 4;
  if (qEnd === q.qEnd && m.readUInt16BE(4) === 1) q.buf.copy(out, 12, 12, q.qEnd);
  const age = reply.age ?? 0;
  if (age > 0 && reply.ttlAt) {
    for (const at of reply.ttlAt) {
      if (at + 4 > len) continue;
      const ttl = out.readUInt32BE(at);
      out.writeUInt32BE(ttl > age ? ttl - age : 0, at);
    }
  }
  let ar = dropAdditional ? 0 : m.readUInt16BE(10);
  if (opt) {
    writeOpt(out, len, 0, q.ednsDo);
    ar++;
  }
  out.writeUInt16BE(ar, 10);
  return out;
}

// A header and the question, TC=1, no records (and our OPT): "ask again over TCP".
function truncated(q: Query, m: Buffer, ra: boolean): Buffer {
  const qLen = q.qEnd - 12;
  const opt = q.ednsSize ? OPT_SIZE : 0;
  const out = Buffer.allocUnsafe(12 + qLen + opt);
  m.copy(out, 0, 0, 12);
  flags(out, q, m, ra, true);
  out.writeUInt16BE(qLen ? 1 : 0, 4);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(opt ? 1 : 0, 10);
  q.buf.copy(out, 12, 12, q.qEnd);
  if (opt) writeOpt(out, 12 + qLen, 0, q.ednsDo);
  return out;
}

// QR, the message's opcode and TC, AA cleared (svcdns is not the authority for what it relays),
// the query's RD; then RA for this client, the message's AD, the query's CD, the message's RCODE.
function flags(out: Buffer, q: Query, m: Buffer, ra: boolean, tc: boolean): void {
  out.writeUInt16BE(q.id, 0);
  out[2] = 0x80 | (m[2]! & 0x78) | (tc ? 0x02 : m[2]! & 0x02) | (q.buf[2]! & 0x01);
  out[3] = (ra ? 0x80 : 0) | (m[3]! & 0x20) | (q.buf[3]! & 0x10) | (m[3]! & 0x0f);
}
