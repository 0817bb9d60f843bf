/**
 * Upstream-style DNS responses for unit tests, encoded with dns2 (an encoder nobody here wrote,
 * which compresses names, RDATA included, as real servers do).
 */
import { Packet } from 'dns2';
import type { DecodedMessage, DecodedRecord } from '../../src/dns/wire.js';
import { typeNumber } from './case.js';

/** Rr is a record in dns2's shape: name, type mnemonic, TTL and the type's fields. */
export type Rr = { name: string; type: string; ttl: number } & Record<string, unknown>;

/** ResponseSpec describes a response: the question, rcode, flags and the three sections. */
export interface ResponseSpec {
  id?: number;
  qname: string;
  qtype: string;
  rcode?: number;
  tc?: boolean;
  aa?: boolean;
  answers?: Rr[];
  authorities?: Rr[];
  additionals?: Rr[];
  /** Append an OPT record with this UDP size (and the DO bit). */
  edns?: number;
  dnssecOk?: boolean;
}

/** response encodes a response message. */
export function response(s: ResponseSpec): Buffer {
  const p = new Packet();
  p.header.id = s.id ?? 4242;
  p.header.qr = 1;
  p.header.rd = 1;
  p.header.ra = 1;
  p.header.aa = s.aa ? 1 : 0;
  p.header.tc = s.tc ? 1 : 0;
  p.header.rcode = s.rcode ?? 0;
  p.questions.push({ name: s.qname.replace(/\.$/, ''), type: typeNumber(s.qtype), class: 1 } as DecodedMessage['questions'][number]);
  const rr = (r: Rr) => ({ ...r, name: r.name.replace(/\.$/, ''), type: typeNumber(r.type), class: 1 }) as unknown as DecodedRecord;
  p.answers.push(...(s.answers ?? []).map(rr));
  p.authorities.push(...(s.authorities ?? []).map(rr));
  p.additionals.push(...(s.additionals ?? []).map(rr));
  if (s.edns) p.additionals.push(Packet.Resource.EDNS([], { udpPayloadSize: s.edns, doFlag: s.dnssecOk }) as unknown as DecodedRecord);
  return p.toBuffer();
}

/** soa is an SOA record for example.org with the given TTL and MINIMUM. */
export function soa(ttl: number, minimum: number, zone = 'example.org'): Rr {
  return { name: zone, type: 'SOA', ttl, primary: `ns.${zone}`, admin: `hostmaster.${zone}`, serial: 1, refresh: 7200, retry: 1800, expiration: 86400, minimum };
}

/** a is an A record. */
export function a(name: string, address: string, ttl = 300): Rr {
  return { name, type: 'A', ttl, address };
}
