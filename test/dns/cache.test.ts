import { expect } from 'chai';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheHandler, CacheStats } from '../../src/dns/handlers/cache/index.js';
import { clusterHandler } from '../../src/dns/handlers/cluster/index.js';
import type { Handler } from '../../src/dns/handler.js';
import { keyToName } from '../../src/dns/names.js';
import { createDnsServer, type DnsServer } from '../../src/dns/server.js';
import { decodeMessage, type DecodedMessage } from '../../src/dns/wire.js';
import { silentLogger } from '../../src/log.js';
import { Acl, DEFAULT_RECURSION_CIDRS, parseCidrList } from '../../src/net/acl.js';
import { loadZonesDir } from '../../src/registry/load.js';
import { Registry } from '../../src/registry/registry.js';
import { buildSnapshot } from '../../src/registry/snapshot.js';
import { lines, query, rcodeName } from '../helpers/case.js';
import { a, response, soa, type Rr } from '../helpers/messages.js';

const SERVICE = (ip: string) => `apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {clusterIP: ${ip}, ports: [{name: http, port: 80}]}\n`;

// What the fake upstream knows: name → [rcode, answers, authorities]. The real upstream (dnsmasq)
// drives the same paths in test/e2e/forward.test.ts; here a fake clock makes TTLs exact.
const UPSTREAM: Record<string, { rcode?: number; answers?: Rr[]; authorities?: Rr[]; tc?: boolean }> = {
  'www.example.org./A': { answers: [a('www.example.org', '192.0.2.1', 300)] },
  'www.example.org./AAAA': { answers: [{ name: 'www.example.org', type: 'AAAA', ttl: 300, address: '2001:db8::1' }] },
  'alias.example.org./A': { answers: [{ name: 'alias.example.org', type: 'CNAME', ttl: 60, domain: 'www.example.org' }, a('www.example.org', '192.0.2.1', 300)] },
  'short.example.org./A': { answers: [a('short.example.org', '192.0.2.2', 5)] },
  'zero.example.org./A': { answers: [a('zero.example.org', '192.0.2.3', 0)] },
  'nx.example.org./A': { rcode: 3, authorities: [soa(600, 30)] },
  'www.example.org./TXT': { authorities: [soa(20, 3600)] },
  'nosoa.example.org./A': { rcode: 3 },
  'fail.example.org./A': { rcode: 2 },
  'tc.example.org./A': { tc: true },
  '1.2.0.192.in-addr.arpa./PTR': { answers: [{ name: '1.2.0.192.in-addr.arpa', type: 'PTR', ttl: 300, domain: 'www.example.org' }] },
  'big.example.org./TXT': { answers: Array.from({ length: 40 }, (_, i) => ({ name: 'big.example.org', type: 'TXT', ttl: 300, data: [`${i}`.padEnd(200, 'x')] })) },
};
function aclOf(list: string): Acl {
  const r = parseCidrList(list);
  if (!r.ok) throw new Error(r.bad);
  return new Acl(r.value);
}

const TYPES: Record<number, string> = { 1: 'A', 28: 'AAAA', 16: 'TXT', 12: 'PTR' };

describe('cache: forwarded answers as bytes, TTLs counting down', () => {
  let dir: string;
  let registry: Registry;
  let clock: number;
  let upstreamCalls: string[];
  let stats: CacheStats;
  let server: DnsServer;

  const fakeForward: Handler = (q) => {
    const name = keyToName(q.key);
    upstreamCalls.push(name);
    const u = UPSTREAM[`${name}/${TYPES[q.qtype]}`] ?? { rcode: 3, authorities: [soa(60, 60)] };
    return Promise.resolve({ kind: 'wire', message: response({ qname: name, qtype: TYPES[q.qtype] ?? 'A', ...u }) });
  };

  async function swapTo(zoneDir: string): Promise<void> {
    const loaded = await loadZonesDir(zoneDir);
    registry.swap(buildSnapshot(loaded.zones, Math.floor(Date.now() / 1000) + Math.floor(Math.random() * 1000)));
  }

  function build(opts: { size?: number; minTtl?: number; maxTtl?: number } = {}): void {
    const acl = aclOf(DEFAULT_RECURSION_CIDRS.join(','));
    stats = new CacheStats();
    upstreamCalls = [];
    clock = 1_000_000;
    const cache = cacheHandler({ ...opts, acl, registry, stats, now: () => clock });
    server = createDnsServer({ registry, log: silentLogger(), handlers: [cache, clusterHandler({ registry }), fakeForward], recursionAvailable: (c) => acl.allows(c) });
  }

  async function ask(name: string, type = 'A', opts: { client?: string; dnssec?: boolean; cd?: boolean } = {}): Promise<DecodedMessage> {
    const buf = query(name, type, opts.dnssec ? { edns: 1232 } : {});
    if (opts.dnssec) buf[buf.length - 4]! |= 0x80; // DO bit of the OPT's TTL field
    if (opts.cd) buf[3]! |= 0x10;
    const out = await server.handle(buf, 'tcp', opts.client ?? '127.0.0.1');
    return decodeMessage(out!);
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'svcdns-cache-'));
    for (const [name, settings, ip] of [
      ['v1', '', '10.96.1.10'],
      ['v2', '', '10.96.1.11'],
      ['wide', 'podCIDRs: [192.0.2.0/24]\n', '10.96.1.10'],
    ]) {
      await mkdir(join(dir, name!, 'cluster.local'), { recursive: true });
      await writeFile(join(dir, name!, 'cluster.local', 'web.yaml'), SERVICE(ip!));
      if (settings) await writeFile(join(dir, name!, 'cluster.local', '_settings.yaml'), settings);
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));
  beforeEach(async () => {
    registry = new Registry();
    await swapTo(join(dir, 'v1'));
    build();
  });

  it('serves a second query from the cache, TTL counted down, ID and case from the asker', async () => {
    const first = await ask('www.example.org');
    expect(lines(first.answers)).to.deep.equal(['www.example.org. 300 IN A 192.0.2.1']);
    clock += 10_500;
    const second = await ask('WWW.example.ORG');
    expect(lines(second.answers)).to.deep.equal(['WWW.example.ORG. 290 IN A 192.0.2.1']);
    expect(second.header.ra).to.equal(1);
    expect(upstreamCalls).to.deep.equal(['www.example.org.']);
    expect([stats.hits, stats.misses, stats.inserts, stats.entries()]).to.deep.equal([1, 1, 1, 1]);
  });

  it('lets an answer live as long as its smallest TTL, each record counting down from its own', async () => {
    await ask('alias.example.org');
    clock += 59_000;
    expect(lines((await ask('alias.example.org')).answers)).to.deep.equal(['alias.example.org. 1 IN CNAME www.example.org.', 'www.example.org. 241 IN A 192.0.2.1']);
    clock += 1_000;
    await ask('alias.example.org');
    expect(upstreamCalls).to.have.length(2);
  });

  it('caches NXDOMAIN for the lesser of the SOA TTL and MINIMUM (RFC 2308 §5), the SOA carrying it', async () => {
    const first = await ask('nx.example.org');
    expect(rcodeName(first.header.rcode)).to.equal('NXDOMAIN');
    expect(lines(first.authorities)[0]).to.match(/^example\.org\. 600 IN SOA/);
    clock += 12_000;
    const second = await ask('nx.example.org');
    expect(rcodeName(second.header.rcode)).to.equal('NXDOMAIN');
    expect(lines(second.authorities)[0]).to.match(/^example\.org\. 18 IN SOA .* 30$/);
    expect(stats.denialHits).to.equal(1);
    clock += 18_000;
    await ask('nx.example.org');
    expect(upstreamCalls).to.have.length(2);
  });

  it('caches NODATA the same way (SOA TTL 20 < MINIMUM 3600)', async () => {
    await ask('www.example.org', 'TXT');
    clock += 5_000;
    const m = await ask('www.example.org', 'TXT');
    expect([rcodeName(m.header.rcode), m.answers.length]).to.deep.equal(['NOERROR', 0]);
    expect(lines(m.authorities)[0]).to.match(/^example\.org\. 15 IN SOA/);
    expect(upstreamCalls).to.have.length(1);
  });

  const uncached: Array<[string, string]> = [
    ['nosoa.example.org', 'NXDOMAIN without an SOA (RFC 2308 §5)'],
    ['fail.example.org', 'SERVFAIL'],
    ['zero.example.org', 'TTL 0'],
    ['tc.example.org', 'a truncated answer'],
  ];
  for (const [name, what] of uncached) {
    it(`does not cache ${what}`, async () => {
      await ask(name);
      await ask(name);
      expect(upstreamCalls).to.deep.equal([`${name}.`, `${name}.`]);
      expect(stats.entries()).to.equal(0);
    });
  }

  it('keeps qtype, DO and CD apart', async () => {
    await ask('www.example.org', 'A');
    await ask('www.example.org', 'AAAA');
    await ask('www.example.org', 'A', { dnssec: true });
    await ask('www.example.org', 'A', { cd: true });
    await ask('www.example.org', 'A');
    await ask('www.example.org', 'AAAA');
    expect(upstreamCalls).to.have.length(4);
    expect(stats.entries()).to.equal(4);
  });

  it('clamps TTLs to --cache-max-ttl and --cache-min-ttl', async () => {
    build({ maxTtl: 100, minTtl: 60 });
    expect(lines((await ask('www.example.org')).answers)).to.deep.equal(['www.example.org. 300 IN A 192.0.2.1']);
    expect(lines((await ask('www.example.org')).answers)).to.deep.equal(['www.example.org. 100 IN A 192.0.2.1']);
    await ask('short.example.org');
    clock += 30_000;
    expect(lines((await ask('short.example.org')).answers)).to.deep.equal(['short.example.org. 30 IN A 192.0.2.2']);
    clock += 70_000;
    await ask('www.example.org');
    expect(upstreamCalls).to.deep.equal(['www.example.org.', 'short.example.org.', 'www.example.org.']);
  });

  it('is bounded: the least recently used answers go first; a large answer counts per 4 KiB', async () => {
    build({ size: 3 });
    for (const n of ['www.example.org', 'alias.example.org', 'short.example.org']) await ask(n);
    await ask('www.example.org'); // now the most recently used
    await ask('nx.example.org'); // evicts alias
    expect(stats.entries()).to.equal(3);
    await ask('www.example.org');
    await ask('alias.example.org');
    expect(upstreamCalls.filter((n) => n === 'alias.example.org.')).to.have.length(2);
    expect(upstreamCalls.filter((n) => n === 'www.example.org.')).to.have.length(1);
    await ask('big.example.org', 'TXT'); // 8.7 KB: three units, the whole cache
    expect(stats.entries()).to.equal(1);
  });

  it('never serves a cached answer to a client outside --allow-recursion', async () => {
    await ask('www.example.org');
    const m = await ask('www.example.org', 'A', { client: '203.0.113.9' });
    expect(m.header.ra).to.equal(0);
    expect(upstreamCalls).to.have.length(2); // the cache passed it on (the forwarder refuses it; here the fake answers)
    expect(stats.hits).to.equal(0);
  });

  it('never caches registry answers: a registry change shows at once', async () => {
    expect(lines((await ask('web.shop.svc.cluster.local')).answers)).to.deep.equal(['web.shop.svc.cluster.local. 5 IN A 10.96.1.10']);
    await swapTo(join(dir, 'v2'));
    expect(lines((await ask('web.shop.svc.cluster.local')).answers)).to.deep.equal(['web.shop.svc.cluster.local. 5 IN A 10.96.1.11']);
    expect([stats.misses, stats.entries(), upstreamCalls.length]).to.deep.equal([0, 0, 0]);
  });

  it('drops cached names that a new snapshot owns (a reverse zone that grew)', async () => {
    const before = await ask('1.2.0.192.in-addr.arpa', 'PTR');
    expect(lines(before.answers)).to.deep.equal(['1.2.0.192.in-addr.arpa. 300 IN PTR www.example.org.']);
    await swapTo(join(dir, 'wide'));
    const after = await ask('1.2.0.192.in-addr.arpa', 'PTR');
    expect(rcodeName(after.header.rcode)).to.equal('NXDOMAIN');
    expect(after.header.aa).to.equal(1);
    expect(upstreamCalls).to.have.length(1);
  });

  it('does not store an answer that arrives after the registry took the name', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const slowForward: Handler = (q) => gate.then(() => fakeForward(q, () => Promise.reject(new Error('unused'))));
    const acl = aclOf('127.0.0.0/8');
    const cache = cacheHandler({ acl, registry, stats, now: () => clock });
    server = createDnsServer({ registry, log: silentLogger(), handlers: [cache, clusterHandler({ registry }), slowForward] });
    const pending = server.handle(query('1.2.0.192.in-addr.arpa', 'PTR'), 'udp', '127.0.0.1');
    await swapTo(join(dir, 'wide'));
    release();
    await pending;
    expect(stats.skipped).to.equal(1);
    expect(stats.entries()).to.equal(0);
  });
});
