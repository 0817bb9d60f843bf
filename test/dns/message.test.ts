import { expect } from 'chai';
import { Packet } from 'dns2';
import { answerFrom, parseQuery } from '../../src/dns/message.js';
import { nameToKey } from '../../src/dns/names.js';
import type { DnsServer } from '../../src/dns/server.js';
import { prebuild } from '../../src/dns/table.js';
import { Arena } from '../../src/dns/encode.js';
import { TYPE } from '../../src/dns/types.js';
import { exchange, lines, query, rcodeName } from '../helpers/case.js';
import { fixtureServer } from '../helpers/server.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
// kubernetes.default.svc.cluster.local as wire labels
const NAME = '0a6b756265726e65746573 0764656661756c74 03737663 07636c7573746572 056c6f63616c 00';
const OPT = (version: number, rdata = '0000') => `00 0029 04d0 00${version.toString(16).padStart(2, '0')}0000 ${rdata}`;

// Malformed and unusual messages: each gets the reply RFC 1035/6891/9619 ask for, or none.
const malformed: Array<{ desc: string; msg: Buffer; expect: string }> = [
  { desc: 'empty datagram', msg: Buffer.alloc(0), expect: 'drop' },
  { desc: 'shorter than a header', msg: hex('a1b2 0100 0001 0000 0000 00'), expect: 'drop' },
  { desc: 'QR=1: a response is never answered', msg: hex(`a1b6 8100 0001 0000 0000 0000 ${NAME} 0001 0001`), expect: 'drop' },
  { desc: 'no question', msg: hex('a1b3 0100 0000 0000 0000 0000'), expect: 'FORMERR' },
  { desc: 'two questions', msg: hex(`a1b3 0100 0002 0000 0000 0000 ${NAME} 0001 0001 ${NAME} 0001 0001`), expect: 'FORMERR' },
  { desc: 'label of 64 octets (reserved label type)', msg: hex(`a1b3 0100 0001 0000 0000 0000 40 ${'61'.repeat(64)} 00 0001 0001`), expect: 'FORMERR' },
  { desc: 'compression pointer in the question', msg: hex('a1b3 0100 0001 0000 0000 0000 c00c 0001 0001'), expect: 'FORMERR' },
  { desc: 'name runs past the end', msg: hex('a1b3 0100 0001 0000 0000 0000 0a6b7562'), expect: 'FORMERR' },
  { desc: 'no type and class', msg: hex(`a1b3 0100 0001 0000 0000 0000 ${NAME}`), expect: 'FORMERR' },
  { desc: 'name longer than 255 octets', msg: hex(`a1b3 0100 0001 0000 0000 0000 ${`3f${'61'.repeat(63)}`.repeat(4)} 00 0001 0001`), expect: 'FORMERR' },
  { desc: 'opcode NOTIFY', msg: hex(`a1b3 2000 0001 0000 0000 0000 ${NAME} 0006 0001`), expect: 'NOTIMP' },
  { desc: 'opcode UPDATE', msg: hex(`a1b3 2800 0001 0000 0000 0000 ${NAME} 0006 0001`), expect: 'NOTIMP' },
  { desc: 'EDNS version 1', msg: hex(`a1b3 0100 0001 0000 0000 0001 ${NAME} 0001 0001 ${OPT(1)}`), expect: 'BADVERS' },
  { desc: 'two OPT records', msg: hex(`a1b3 0100 0001 0000 0000 0002 ${NAME} 0001 0001 ${OPT(0)} ${OPT(0)}`), expect: 'FORMERR' },
  { desc: 'OPT whose RDATA runs past the end', msg: hex(`a1b3 0100 0001 0000 0000 0001 ${NAME} 0001 0001 00 0029 04d0 00000000 0010 0001`), expect: 'FORMERR' },
  { desc: 'an answer record that runs past the end', msg: hex(`a1b3 0100 0001 0001 0000 0000 ${NAME} 0001 0001 c00c 0001 0001 00000005 0004 0a`), expect: 'FORMERR' },
  { desc: 'AXFR (no transfers)', msg: hex(`a1b3 0000 0001 0000 0000 0000 ${NAME} 00fc 0001`), expect: 'REFUSED' },
  { desc: 'IXFR', msg: hex(`a1b3 0000 0001 0000 0000 0000 ${NAME} 00fb 0001`), expect: 'REFUSED' },
  { desc: 'OPT as the question type', msg: hex(`a1b3 0100 0001 0000 0000 0000 ${NAME} 0029 0001`), expect: 'FORMERR' },
  { desc: 'TSIG as the question type', msg: hex(`a1b3 0100 0001 0000 0000 0000 ${NAME} 00fa 0001`), expect: 'NOTIMP' },
  { desc: 'class CHAOS', msg: hex(`a1b3 0100 0001 0000 0000 0000 ${NAME} 0010 0003`), expect: 'REFUSED' },
  { desc: 'class ANY is served as IN', msg: hex(`a1b3 0100 0001 0000 0000 0000 ${NAME} 0001 00ff`), expect: 'NOERROR' },
  { desc: 'trailing bytes after the question are ignored', msg: hex(`a1b3 0100 0001 0000 0000 0000 ${NAME} 0001 0001 deadbeef`), expect: 'NOERROR' },
  { desc: 'an OPT with an unknown option', msg: hex(`a1b3 0100 0001 0000 0000 0001 ${NAME} 0001 0001 00 0029 04d0 00000000 0006 fde9 0002 abcd`), expect: 'NOERROR' },
];

describe('message: malformed and unusual queries', () => {
  let server: DnsServer;
  before(async () => {
    server = await fixtureServer();
  });

  for (const c of malformed) {
    it(`${c.desc}: ${c.expect}`, async () => {
      const r = await server.handle(c.msg);
      if (c.expect === 'drop') {
        expect(r).to.equal(null);
      } else {
        expect(r).to.be.instanceOf(Buffer);
        const reply = r as Buffer;
        expect(reply.readUInt16BE(0), 'id echoed').to.equal(c.msg.readUInt16BE(0));
        expect(reply[2]! & 0x80, 'QR').to.equal(0x80);
        const m = Packet.parse(reply);
        const opt = m.additionals.find((x) => x.type === TYPE.OPT);
        const rcode = c.expect === 'BADVERS' ? ((opt?.extendedRcode ?? 0) << 4) | (reply[3]! & 0xf) : reply[3]! & 0xf;
        expect(c.expect === 'BADVERS' ? rcode : rcodeName(rcode)).to.equal(c.expect === 'BADVERS' ? 16 : c.expect);
      }
      // The server still answers a good query afterwards.
      const ok = await exchange(server.handle, query('kubernetes.default.svc.cluster.local', 'A'));
      expect(lines(ok!.msg.answers)).to.deep.equal(['kubernetes.default.svc.cluster.local. 5 IN A 10.96.0.1']);
    });
  }

  it('random bytes never throw and never get more than a header-sized error', async () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let i = 0; i < 20000; i++) {
      const msg = Buffer.from(Array.from({ length: Math.floor(rand() * 80) }, () => Math.floor(rand() * 256)));
      if (i % 2) msg[2] = (msg[2] ?? 0) & 0x7f; // half of them look like queries
      const r = await server.handle(msg);
      if (r) expect(r.readUInt16BE(0)).to.equal(msg.readUInt16BE(0));
    }
  });
});

describe('message: header, EDNS and sizes', () => {
  let server: DnsServer;
  before(async () => {
    server = await fixtureServer();
  });

  it('echoes ID, RD and CD; sets QR and AA; RA stays off', async () => {
    const q = query('web.shop.svc.cluster.local', 'A', { id: 0x1234 });
    q[3] = q[3]! | 0x10; // CD
    const r = (await server.handle(q)) as Buffer;
    expect(r.readUInt16BE(0)).to.equal(0x1234);
    expect(r[2]).to.equal(0x80 | 0x04 | 0x01);
    expect(r[3]).to.equal(0x10);
  });

  it('adds an OPT only when the query had one, and copies DO (RFC 3225)', async () => {
    const plain = await exchange(server.handle, query('web.shop.svc.cluster.local', 'A'));
    expect(plain!.msg.additionals).to.have.length(0);
    const q = query('web.shop.svc.cluster.local', 'A', { edns: 4096 });
    q[q.length - 4] = 0x80; // DO: top bit of the flags in the OPT TTL (no RDATA follows)
    const r = await exchange(server.handle, q);
    const opt = r!.msg.additionals.find((x) => x.type === TYPE.OPT);
    expect(opt?.class, 'our payload size').to.equal(1232);
    expect(opt?.doFlag).to.equal(true);
  });

  const sizes: Array<{ desc: string; edns?: number; transport?: 'tcp'; tc: boolean; answers: number; max: number }> = [
    { desc: 'UDP without EDNS: 512 octets, TC=1', tc: true, answers: 0, max: 512 },
    { desc: 'EDNS 600: TC=1', edns: 600, tc: true, answers: 0, max: 600 },
    { desc: 'EDNS 1232: fits', edns: 1232, tc: false, answers: 40, max: 1232 },
    { desc: 'EDNS 4096 is capped at 1232 and fits', edns: 4096, tc: false, answers: 40, max: 1232 },
    { desc: 'EDNS below 512 counts as 512', edns: 100, tc: true, answers: 0, max: 512 },
    { desc: 'TCP carries it all', transport: 'tcp', tc: false, answers: 40, max: 65535 },
  ];
  for (const c of sizes) {
    it(`40 A records: ${c.desc}`, async () => {
      const r = await exchange(server.handle, query('fleet.monitoring.svc.cluster.local', 'A', c.edns ? { edns: c.edns } : {}), c.transport);
      expect(r!.raw.length).to.be.at.most(c.max);
      expect(r!.msg.header.tc).to.equal(c.tc ? 1 : 0);
      expect(r!.msg.answers).to.have.length(c.answers);
      expect(r!.msg.questions).to.have.length(1);
    });
  }

  it('drops the additional section, without TC, when only the answer fits (RFC 2181 §9)', () => {
    const key = nameToKey('_x._tcp.big.ns.svc.cluster.local.');
    const target = nameToKey('big.ns.svc.cluster.local.');
    const srv = { type: TYPE.SRV, ttl: 5, records: [{ type: TYPE.SRV, priority: 0, weight: 100, port: 80, target }] } as const;
    const addrs = { type: TYPE.A, ttl: 5, records: Array.from({ length: 40 }, (_, i) => ({ type: TYPE.A, ip: `10.0.0.${i + 1}` }) as const) };
    const p = prebuild(new Arena(), key, [[key, { ...srv, records: [...srv.records] }]], [[target, { ...addrs, records: [...addrs.records] }]]);
    const q = parseQuery(query('_x._tcp.big.ns.svc.cluster.local', 'SRV'), 'udp')!;
    const m = Packet.parse(answerFrom(q, p, false));
    expect(m.header.tc).to.equal(0);
    expect(m.answers).to.have.length(1);
    expect(m.additionals).to.have.length(0);
  });

  it('rotates address records between answers, always the same set', async () => {
    const orders = new Set<string>();
    let set: string | undefined;
    for (let i = 0; i < 6; i++) {
      const r = await exchange(server.handle, query('fleet.monitoring.svc.cluster.local', 'A', { edns: 1232 }));
      const ips = r!.msg.answers.map((a) => a.address ?? '');
      orders.add(ips.join(','));
      const sorted = [...ips].sort().join(',');
      if (set) expect(sorted).to.equal(set);
      set = sorted;
    }
    expect(orders.size).to.equal(6);
  });

  it('answers owner names in the asker\'s case through compression pointers', async () => {
    const r = await exchange(server.handle, query('_Postgres._TCP.DB.data.svc.cluster.local', 'SRV'));
    expect(r!.msg.answers.map((a) => a.name)).to.deep.equal(['_Postgres._TCP.DB.data.svc.cluster.local', '_Postgres._TCP.DB.data.svc.cluster.local']);
  });
});
