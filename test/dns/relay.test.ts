import { expect } from 'chai';
import { parseQuery, type Transport } from '../../src/dns/message.js';
import { relayFrom } from '../../src/dns/relay.js';
import { scanMessage } from '../../src/dns/scan.js';
import { decodeMessage } from '../../src/dns/wire.js';
import { lines, query } from '../helpers/case.js';
import { a, response } from '../helpers/messages.js';

function q(name: string, type: string, opts: { edns?: number; transport?: Transport; cd?: boolean; rd?: boolean } = {}) {
  const buf = query(name, type, { edns: opts.edns, rd: opts.rd ?? true, id: 0x4321 });
  if (opts.cd) buf[3]! |= 0x10;
  return parseQuery(buf, opts.transport ?? 'udp', '127.0.0.1')!;
}

// The relay turns a complete message (forwarded, cached or built by autopath) into one client's answer.
describe('relay: serving a message from elsewhere to a client', () => {
  const upstream = response({ id: 7, qname: 'www.example.org', qtype: 'A', aa: true, answers: [a('www.example.org', '192.0.2.1', 300)], additionals: [a('extra.example.org', '192.0.2.9', 100)] });

  it("patches in the client's ID, RD and CD bits and question case; clears AA; sets RA as told", () => {
    const out = relayFrom(q('WWW.Example.ORG', 'A', { cd: true, rd: false }), { kind: 'wire', message: upstream }, true);
    const m = decodeMessage(out);
    expect(m.header.id).to.equal(0x4321);
    expect(m.header).to.include({ qr: 1, aa: 0, rd: 0, ra: 1, cd: 1, rcode: 0 });
    expect(m.questions[0]!.name).to.equal('WWW.Example.ORG');
    expect(lines(m.answers)).to.deep.equal(['WWW.Example.ORG. 300 IN A 192.0.2.1']);
    expect(decodeMessage(relayFrom(q('www.example.org', 'A'), { kind: 'wire', message: upstream }, false)).header.ra).to.equal(0);
  });

  it('counts TTLs down by the age of a cached answer, never below 0', () => {
    const s = scanMessage(upstream)!;
    const m = decodeMessage(relayFrom(q('www.example.org', 'A'), { kind: 'wire', message: upstream, ttlAt: s.ttlAt, age: 120 }, true));
    expect(m.answers[0]!.ttl).to.equal(180);
    expect(m.additionals[0]!.ttl).to.equal(0);
  });

  it('appends its own OPT only when the query had one', () => {
    expect(decodeMessage(relayFrom(q('www.example.org', 'A', { edns: 4096 }), { kind: 'wire', message: upstream }, true)).additionals.map((r) => r.type)).to.deep.equal([1, 41]);
    expect(decodeMessage(relayFrom(q('www.example.org', 'A'), { kind: 'wire', message: upstream }, true)).additionals.map((r) => r.type)).to.deep.equal([1]);
  });

  const big = response({ qname: 'big.example.org', qtype: 'A', answers: Array.from({ length: 40 }, (_, i) => a('big.example.org', `192.0.2.${i + 1}`)) });
  const leanOnly = response({ qname: 'www.example.org', qtype: 'A', answers: [a('www.example.org', '192.0.2.1')], additionals: Array.from({ length: 40 }, (_, i) => a(`x${i}.example.org`, '192.0.2.9')) });
  const rows: Array<{ desc: string; msg: Buffer; lean?: boolean; edns?: number; transport?: Transport; tc: boolean; an: number; ar: number }> = [
    { desc: 'too big for 512 octets: TC=1, no records', msg: big, tc: true, an: 0, ar: 0 },
    { desc: 'fits the EDNS size', msg: big, edns: 1232, tc: false, an: 40, ar: 1 },
    { desc: 'over TCP: whole', msg: big, transport: 'tcp', tc: false, an: 40, ar: 0 },
    { desc: 'only the additional section does not fit: left out, no TC (RFC 2181 §9)', msg: leanOnly, lean: true, tc: false, an: 1, ar: 0 },
  ];
  for (const r of rows) {
    it(r.desc, () => {
      const s = scanMessage(r.msg)!;
      const out = relayFrom(q('big.example.org', 'A', { edns: r.edns, transport: r.transport }), { kind: 'wire', message: r.msg, leanLen: r.lean ? s.arStart : -1 }, true);
      const m = decodeMessage(out);
      expect(m.header.tc === 1, 'TC').to.equal(r.tc);
      expect(m.answers.length, 'answers').to.equal(r.an);
      expect(m.additionals.length, 'additional').to.equal(r.ar);
      expect(out.length).to.be.at.most(r.transport === 'tcp' ? 65535 : (r.edns ?? 512));
    });
  }
});
