/**
 * The one module that uses dns2: decoding whole messages where the hot path's own reader
 * (message.ts) stops, i.e. queries that carry records besides one OPT, and presenting decoded
 * messages as zone-file text for logs, tools and tests.
 */
import { Packet } from 'dns2';
import { RCODE, TYPE } from './types.js';
import { setEdns, type Query } from './message.js';

/** DecodedRecord is a record as dns2 decodes it. */
export type DecodedRecord = InstanceType<typeof Packet>['answers'][number];

/** DecodedMessage is a whole message as dns2 decodes it. */
export type DecodedMessage = InstanceType<typeof Packet>;

/**
 * readExtraRecords settles a query with answer, authority or several additional records: it finds
 * the OPT among them (RFC 6891 §6.1.1: at most one) and sets FORMERR when the message is malformed.
 */
export function readExtraRecords(q: Query): void {
  let packet: DecodedMessage;
  try {
    packet = Packet.parse(q.buf);
  } catch {
    q.error = RCODE.FORMERR;
    return;
  }
  const opts = packet.additionals.filter((r) => r.type === TYPE.OPT);
  if (packet.errors.length > 0 || opts.length > 1) {
    q.error = RCODE.FORMERR;
    return;
  }
  const opt = opts[0];
  if (opt) setEdns(q, opt.class, opt.version ?? 0, opt.doFlag ?? false);
}

/** decodeMessage decodes a whole message with dns2; it throws on a message without a usable header. */
export function decodeMessage(buf: Buffer): DecodedMessage {
  return Packet.parse(buf);
}

const TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Packet.TYPE).map(([k, v]) => [v, k === 'EDNS' ? 'OPT' : k]));

/** typeName gives the mnemonic of a record type (A, SRV, ...) or TYPEnnn. */
export function typeName(type: number): string {
  return TYPE_NAMES[type] ?? `TYPE${type}`;
}

/** typeCode reads a mnemonic (A, srv, TYPE65) into its number, or undefined. */
export function typeCode(name: string): number | undefined {
  const upper = name.toUpperCase();
  const m = /^TYPE(\d+)$/.exec(upper);
  if (m) return Number(m[1]);
  const entry = Object.entries(TYPE_NAMES).find(([, n]) => n === upper);
  return entry ? Number(entry[0]) : undefined;
}

/** formatRecord renders a decoded record as a zone-file line: "name. TTL IN TYPE rdata". */
export function formatRecord(r: DecodedRecord): string {
  const owner = fqdn(r.name);
  const t = typeName(r.type);
  let data: string;
  switch (r.type) {
    case TYPE.A:
    case TYPE.AAAA:
      data = String(r.address);
      break;
    case TYPE.CNAME:
    case TYPE.PTR:
      data = fqdn(r.domain ?? '');
      break;
    case TYPE.NS:
      data = fqdn(r.ns ?? '');
      break;
    case TYPE.SRV:
      data = `${r.priority} ${r.weight} ${r.port} ${fqdn(r.target ?? '')}`;
      break;
    case TYPE.TXT:
      data = (Array.isArray(r.data) ? r.data : [String(r.data)]).map((s) => JSON.stringify(String(s))).join(' ');
      break;
    case TYPE.SOA:
      data = `${fqdn(r.primary ?? '')} ${fqdn(r.admin ?? '')} ${r.serial} ${r.refresh} ${r.retry} ${r.expiration} ${r.minimum}`;
      break;
    case TYPE.OPT:
      return `. OPT udp=${r.class} version=${r.version ?? 0}${r.doFlag ? ' do' : ''}`;
    default:
      data = Buffer.isBuffer(r.data) ? `\\# ${r.data.length} ${r.data.toString('hex')}` : String(r.data ?? '');
  }
  return `${owner} ${r.ttl} IN ${t} ${data}`;
}

function fqdn(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}
