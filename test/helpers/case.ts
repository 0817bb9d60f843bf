/**
 * Table-driven DNS cases, in the shape of CoreDNS's test.Case: a question, the expected rcode and
 * each section as zone-file lines ("svc1.ns.svc.cluster.local. 5 IN A 10.0.0.1"). A `*` in an
 * expected line matches any one field (e.g. an SOA serial). Replies are decoded with dns2, an
 * implementation independent of the server's own encoder.
 */
import { expect } from 'chai';
import { Packet } from 'dns2';
import { formatRecord, type DecodedMessage } from '../../src/dns/wire.js';
import type { HandleResult } from '../../src/dns/server.js';
import type { Transport } from '../../src/dns/message.js';

/** Case is one row of a DNS table. */
export interface Case {
  qname: string;
  qtype: string;
  rcode?: 'NOERROR' | 'NXDOMAIN' | 'REFUSED' | 'SERVFAIL' | 'FORMERR' | 'NOTIMP';
  answer?: string[];
  ns?: string[];
  extra?: string[];
  /** Answer records must come in this order (CNAME before its target). */
  ordered?: boolean;
  aa?: boolean;
  tc?: boolean;
  /** Send an OPT record with this UDP payload size. */
  edns?: number;
  transport?: Transport;
  /** A name for the row when the question alone does not say what it checks. */
  desc?: string;
}

/** Handle is anything that answers a message (the DNS server's handle). */
export type Handle = (message: Buffer, transport?: Transport) => HandleResult | Promise<HandleResult>;

let nextId = 1;

/** query encodes a question as a client would (dns2's encoder), optionally with an OPT record. */
export function query(qname: string, qtype: string | number, { edns, rd = true, id }: { edns?: number; rd?: boolean; id?: number } = {}): Buffer {
  const p = new Packet();
  p.header.id = id ?? (nextId = (nextId + 1) & 0xffff);
  p.header.rd = rd ? 1 : 0;
  const type = typeof qtype === 'number' ? qtype : typeNumber(qtype);
  p.questions.push({ name: qname.replace(/\.$/, ''), type, class: 1 } as DecodedMessage['questions'][number]);
  if (edns) p.additionals.push(Packet.Resource.EDNS([], { udpPayloadSize: edns }) as unknown as DecodedMessage['additionals'][number]);
  return p.toBuffer();
}

/** typeNumber maps a mnemonic to its number. */
export function typeNumber(name: string): number {
  const upper = name.toUpperCase();
  const extra: Record<string, number> = { SVCB: 64, HTTPS: 65, CAA: 257 };
  const t = /^TYPE\d+$/.test(upper) ? Number(upper.slice(4)) : ((Packet.TYPE as Record<string, number>)[upper] ?? extra[upper]);
  if (t === undefined) throw new Error(`unknown type ${name}`);
  return t;
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];
/** rcodeName names a header rcode. */
export const rcodeName = (r: number): string => RCODES[r] ?? `RCODE${r}`;

/** exchange sends one message through handle and decodes the reply; null when there is none. */
export async function exchange(handle: Handle, message: Buffer, transport: Transport = 'udp'): Promise<{ raw: Buffer; msg: DecodedMessage } | null> {
  const raw = await handle(message, transport);
  if (!raw) return null;
  return { raw, msg: Packet.parse(raw) };
}

/** lines formats a decoded section as zone-file lines (OPT left out). */
export function lines(section: DecodedMessage['answers']): string[] {
  return section.filter((r) => r.type !== 41).map(formatRecord);
}

function normalize(line: string): string[] {
  const f = line.trim().split(/\s+/);
  if (f[2] !== 'IN') f.splice(2, 0, 'IN');
  return f;
}

function matches(expected: string, actual: string): boolean {
  const e = normalize(expected);
  const a = normalize(actual);
  return e.length === a.length && e.every((f, i) => f === '*' || f === a[i]);
}

/** expectRecords asserts that a section holds exactly the expected lines (in order when asked). */
export function expectRecords(actual: string[], expected: string[], what: string, ordered = false): void {
  if (ordered) {
    expect(actual.length, `${what}: ${actual.join(' | ')}`).to.equal(expected.length);
    expected.forEach((e, i) => expect(matches(e, actual[i] ?? ''), `${what}[${i}]: ${actual[i]} vs ${e}`).to.equal(true));
    return;
  }
  const left = [...actual];
  for (const e of expected) {
    const i = left.findIndex((a) => matches(e, a));
    expect(i, `${what}: missing [${e}] in [${actual.join(' | ')}]`).to.be.at.least(0);
    left.splice(i, 1);
  }
  expect(left, `${what}: unexpected records`).to.deep.equal([]);
}

/** checkCase runs one case through handle and asserts every part of the reply it specifies. */
export async function checkCase(handle: Handle, c: Case): Promise<DecodedMessage> {
  const msg = query(c.qname, c.qtype, c.edns ? { edns: c.edns } : {});
  const r = await exchange(handle, msg, c.transport ?? 'udp');
  expect(r, 'no reply').to.not.equal(null);
  const m = r!.msg;
  expect(m.header.id).to.equal(msg.readUInt16BE(0));
  expect(rcodeName(m.header.rcode), 'rcode').to.equal(c.rcode ?? 'NOERROR');
  expect(m.questions.length, 'questions').to.equal(1);
  if (c.aa !== undefined) expect(m.header.aa === 1, 'AA').to.equal(c.aa);
  if (c.tc !== undefined) expect(m.header.tc === 1, 'TC').to.equal(c.tc);
  if (c.answer) expectRecords(lines(m.answers), c.answer, 'answer', c.ordered);
  if (c.ns) expectRecords(lines(m.authorities), c.ns, 'authority');
  if (c.extra) expectRecords(lines(m.additionals), c.extra, 'additional');
  return m;
}

/** runCases makes one mocha test per case: it('A web.shop.svc.cluster.local.'). */
export function runCases(handle: () => Handle, cases: Case[]): void {
  for (const c of cases) {
    it(`${c.qtype} ${c.qname}${c.desc ? ` (${c.desc})` : ''}${c.transport === 'tcp' ? ' over TCP' : ''}`, async () => {
      await checkCase(handle(), c);
    });
  }
}
