import { expect } from 'chai';
import { aliasAnswer, classify } from '../../src/dns/handlers/autopath/answer.js';
import { cacheEntry } from '../../src/dns/handlers/cache/entry.js';
import { checkReply, upstreamQuery } from '../../src/dns/handlers/forward/message.js';
import { parseQuery } from '../../src/dns/message.js';
import { relayFrom } from '../../src/dns/relay.js';
import { scanMessage } from '../../src/dns/scan.js';
import { query } from '../helpers/case.js';
import { a, response, soa } from '../helpers/messages.js';

// An upstream's reply is input like any other: a broken or hostile one must never throw.
describe('upstream replies that are broken: no exception anywhere', () => {
  const client = parseQuery(query('www.example.org', 'A', { edns: 1232 }), 'udp', '127.0.0.1')!;
  const sent = upstreamQuery(client, 4242);
  const seeds = [
    response({ qname: 'www.example.org', qtype: 'A', answers: [{ name: 'www.example.org', type: 'CNAME', ttl: 60, domain: 'x.example.org' }, a('x.example.org', '192.0.2.1')], edns: 1232 }),
    response({ qname: 'www.example.org', qtype: 'A', rcode: 3, authorities: [soa(300, 30)] }),
    response({ qname: 'www.example.org', qtype: 'A', answers: [{ name: 'www.example.org', type: 'MX', ttl: 60, exchange: 'mail.example.org', priority: 10 }, { name: 'www.example.org', type: 'SRV', ttl: 60, priority: 0, weight: 5, port: 80, target: 'x.example.org' }] }),
  ];
  let state = 0x2545f491;
  const rand = (n: number) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };

  it('20,000 mutated replies through the scanner, reply check, cache, relay and autopath', () => {
    let scanned = 0;
    for (let i = 0; i < 20_000; i++) {
      const seed = seeds[i % seeds.length]!;
      const m = Buffer.from(seed);
      for (let k = 1 + rand(4); k > 0; k--) m[rand(m.length)] = rand(256);
      const cut = rand(4) === 0 ? m.subarray(0, rand(m.length)) : m;
      const s = scanMessage(cut);
      const checked = checkReply(cut, sent);
      if (typeof checked !== 'string') {
        cacheEntry({ kind: 'wire', message: checked.message, leanLen: checked.leanLen }, 4, 0, { minTtl: 0, maxTtl: 3600 });
        relayFrom(client, { kind: 'wire', message: checked.message, leanLen: checked.leanLen, ttlAt: checked.scan.ttlAt, age: 5 }, true);
      }
      if (s) {
        scanned++;
        classify(s, 1);
        aliasAnswer(client.buf.subarray(0, client.qEnd), Buffer.from('\x01x\x00', 'latin1'), 5, cut, s);
      }
    }
    expect(scanned).to.be.greaterThan(100);
  });
});
