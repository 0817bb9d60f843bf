import { expect } from 'chai';
import { readName, scanMessage, skipName } from '../../src/dns/scan.js';
import { decodeMessage } from '../../src/dns/wire.js';
import { query } from '../helpers/case.js';
import { a, response, soa } from '../helpers/messages.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
// Header: ID 0x1234, QR RD RA, QD=1, AN=1; question example.org A.
const HEAD = '1234 8180 0001 0001 0000 0000';
const QUESTION = '07 6578616d706c65 03 6f7267 00 0001 0001';

describe('scan: bounded reading of messages from upstreams', () => {
  const good: Array<{ desc: string; msg: () => Buffer; expect: Record<string, unknown> }> = [
    {
      desc: 'an answer with compressed owner names',
      msg: () => response({ qname: 'www.example.org', qtype: 'A', answers: [a('www.example.org', '192.0.2.1', 300), a('www.example.org', '192.0.2.2', 60)] }),
      expect: { an: 2, ns: 0, ar: 0, rcode: 0, answerTypes: [1, 1], minTtl: 60, qtype: 1 },
    },
    {
      desc: 'NXDOMAIN with the SOA in authority',
      msg: () => response({ qname: 'nx.example.org', qtype: 'A', rcode: 3, authorities: [soa(600, 30)] }),
      expect: { an: 0, ns: 1, rcode: 3, answerTypes: [], minTtl: 600, soa: { ttl: 600, minimum: 30 } },
    },
    {
      desc: 'an OPT in the additional section',
      msg: () => response({ qname: 'www.example.org', qtype: 'A', answers: [a('www.example.org', '192.0.2.1')], edns: 1232, dnssecOk: true }),
      expect: { an: 1, ar: 1, opt: { extRcode: 0, dnssecOk: true } },
    },
    {
      desc: 'a CNAME chain (target compressed in RDATA)',
      msg: () => response({ qname: 'alias.example.org', qtype: 'A', answers: [{ name: 'alias.example.org', type: 'CNAME', ttl: 10, domain: 'www.example.org' }, a('www.example.org', '192.0.2.1', 20)] }),
      expect: { answerTypes: [5, 1], minTtl: 10 },
    },
  ];
  for (const c of good) {
    it(`reads ${c.desc}`, () => {
      const buf = c.msg();
      const s = scanMessage(buf);
      expect(s).to.not.equal(null);
      for (const [k, v] of Object.entries(c.expect)) {
        if (k === 'soa' || k === 'opt') expect(s![k], k).to.include(v as object);
        else expect(s![k as keyof typeof s], k).to.deep.equal(v);
      }
      expect(s!.end).to.equal(buf.length);
      // Every TTL offset points at a TTL: the record's type and class are just before it.
      const d = decodeMessage(buf);
      const ttls = [...d.answers, ...d.authorities, ...d.additionals].filter((r) => r.type !== 41).map((r) => r.ttl);
      expect(s!.ttlAt.map((at) => buf.readUInt32BE(at))).to.deep.equal(ttls);
    });
  }

  it('reads a query (no records) and a message without a question', () => {
    expect(scanMessage(query('example.org', 'A'))).to.include({ qdcount: 1, an: 0, qtype: 1, qclass: 1 });
    expect(scanMessage(hex('1234 8180 0000 0000 0000 0000'))).to.include({ qdcount: 0, qEnd: 12 });
  });

  const bad: Array<{ desc: string; msg: Buffer }> = [
    { desc: 'shorter than a header', msg: hex('1234 8180 0001') },
    { desc: 'a question cut short', msg: hex(`${HEAD} 07 6578616d70`) },
    { desc: 'a record count beyond the data', msg: hex(`${HEAD} ${QUESTION}`) },
    { desc: 'RDATA longer than the message', msg: hex(`${HEAD} ${QUESTION} c00c 0001 0001 0000003c 0010 c0000201`) },
    { desc: 'a forward compression pointer', msg: hex(`${HEAD} ${QUESTION} c040 0001 0001 0000003c 0004 c0000201`) },
    { desc: 'a pointer to itself', msg: hex(`${HEAD} ${QUESTION} c01d 0001 0001 0000003c 0004 c0000201`) },
    { desc: 'an extended label type (0x40)', msg: hex(`${HEAD} ${QUESTION} 41 00 0001 0001 0000003c 0004 c0000201`) },
    { desc: 'two questions (RFC 9619)', msg: hex(`1234 8180 0002 0000 0000 0000 ${QUESTION} ${QUESTION}`) },
    { desc: 'an OPT in the answer section', msg: hex(`${HEAD} ${QUESTION} 00 0029 04d0 00000000 0000`) },
    { desc: 'an SOA whose RDATA is too short', msg: hex(`1234 8183 0001 0000 0001 0000 ${QUESTION} c00c 0006 0001 0000003c 0006 c00c c00c 0000`) },
    { desc: 'a name longer than 255 octets', msg: Buffer.concat([hex('1234 8180 0001 0000 0000 0000'), Buffer.from(Array.from({ length: 5 }, () => [63, ...Buffer.alloc(63, 0x61)]).flat()), hex('00 0001 0001')]) },
  ];
  for (const c of bad) {
    it(`refuses ${c.desc}`, () => {
      expect(scanMessage(c.msg)).to.equal(null);
    });
  }

  it('decompresses names, case kept, and stops pointer chains', () => {
    const buf = response({ qname: 'WWW.Example.org', qtype: 'A', answers: [{ name: 'WWW.Example.org', type: 'CNAME', ttl: 10, domain: 'x.Example.org' }] });
    const s = scanMessage(buf)!;
    const cnameRdata = s.ttlAt[0]! + 6;
    expect(readName(buf, cnameRdata)?.wire.toString('latin1')).to.equal('\x01x\x07Example\x03org\x00');
    expect(readName(buf, 12)?.end).to.equal(skipName(buf, 12));
    expect(readName(hex('0000 0000 0000 0000 0000 0000 c00c'), 12)).to.equal(null);
  });
});
