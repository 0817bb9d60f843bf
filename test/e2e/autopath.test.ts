import { expect } from 'chai';
import { parseFlags } from '../../src/cli/args.js';
import { SERVE_FLAGS, serveConfig, startServe, type Running } from '../../src/cli/serve.js';
import type { Transport } from '../../src/dns/message.js';
import { decodeMessage, type DecodedMessage } from '../../src/dns/wire.js';
import { silentLogger } from '../../src/log.js';
import { lines, query, rcodeName } from '../helpers/case.js';
import { exampleOrg, startDnsmasq, type Dnsmasq } from '../helpers/dnsmasq.js';
import { SAMPLE_ZONES } from '../helpers/server.js';

const SOA = /^cluster\.local\. 5 IN SOA ns\.dns\.cluster\.local\. /;

// Autopath through handle(), with dnsmasq as the upstream. The sample registry has namespaces
// default and data (Services myservice, kubernetes, db, docs). dnsmasq also serves a zone named
// like the namespace `data` (www.shop.data) and a zone `shop` (www.shop), to show the ambiguity
// that the per-client memory of search walks removes.
describe('e2e: autopath (server-side search list walk) against dnsmasq', function () {
  this.timeout(30_000);
  let dm: Dnsmasq;
  let svc: Running;
  before(async () => {
    dm = await startDnsmasq([...exampleOrg(), '--auth-zone=data', '--host-record=www.shop.data,192.0.2.60', '--auth-zone=shop', '--host-record=www.shop,192.0.2.61,2001:db8::61']);
    const { values } = parseFlags(['--zones', SAMPLE_ZONES, '--dns', '127.0.0.1:0', '--http', '127.0.0.1:0', '--upstream', `127.0.0.1:${dm.port}`, '--autopath', '--resolv-conf', '/nonexistent'], {}, SERVE_FLAGS);
    svc = await startServe(serveConfig(values), silentLogger());
  });
  after(async () => {
    await svc?.close();
    await dm?.stop();
  });

  async function ask(name: string, type = 'A', opts: { client?: string; transport?: Transport; edns?: number; dnssec?: boolean } = {}): Promise<DecodedMessage> {
    const buf = query(name, type, opts.edns || opts.dnssec ? { edns: opts.edns ?? 1232 } : {});
    if (opts.dnssec) buf[buf.length - 4]! |= 0x80;
    return decodeMessage((await svc.dns.handle(buf, opts.transport ?? 'udp', opts.client ?? '127.0.0.1'))!);
  }

  const rows: Array<{ desc: string; name: string; type?: string; client?: string; dnssec?: boolean; rcode: string; answer?: string[]; soa?: boolean }> = [
    {
      desc: 'an outside name: CNAME to it, then its records',
      name: 'host.example.org.default.svc.cluster.local',
      rcode: 'NOERROR',
      answer: ['host.example.org.default.svc.cluster.local. 5 IN CNAME host.example.org.', 'host.example.org. 30 IN A 192.0.2.8'],
    },
    {
      desc: '<svc>.<ns> from another namespace: the registry name',
      name: 'db.data.default.svc.cluster.local',
      rcode: 'NOERROR',
      answer: ['db.data.default.svc.cluster.local. 5 IN CNAME db.data.svc.cluster.local.', 'db.data.svc.cluster.local. 5 IN A 10.244.1.20', 'db.data.svc.cluster.local. 5 IN A 10.244.2.21'],
    },
    {
      desc: 'a cluster FQDN without its trailing dot (4 dots < ndots 5)',
      name: 'MyService.default.svc.cluster.local.data.svc.cluster.local',
      rcode: 'NOERROR',
      answer: ['MyService.default.svc.cluster.local.data.svc.cluster.local. 5 IN CNAME MyService.default.svc.cluster.local.', 'MyService.default.svc.cluster.local. 5 IN A 10.0.0.50'],
    },
    { desc: 'the walk ends in NODATA: left to the client', name: 'host.example.org.default.svc.cluster.local', type: 'AAAA', rcode: 'NXDOMAIN', soa: true },
    { desc: 'NXDOMAIN everywhere', name: 'nosuch.example.org.default.svc.cluster.local', rcode: 'NXDOMAIN', soa: true },
    { desc: 'a single label (could be <svc>.<ns> searched from elsewhere)', name: 'example.default.svc.cluster.local', rcode: 'NXDOMAIN', soa: true },
    { desc: 'an endpoint name of an existing Service', name: 'db-9.db.data.svc.cluster.local', rcode: 'NXDOMAIN', soa: true },
    { desc: 'a namespace the registry does not know', name: 'host.example.org.nosuchns.svc.cluster.local', rcode: 'NXDOMAIN', soa: true },
    { desc: 'DO set: a synthesised CNAME cannot be signed', name: 'host.example.org.default.svc.cluster.local', dnssec: true, rcode: 'NXDOMAIN', soa: true },
    { desc: 'a client outside --allow-recursion: the upstream step is refused, nothing leaks', name: 'host.example.org.default.svc.cluster.local', client: '203.0.113.9', rcode: 'NXDOMAIN', soa: true },
    { desc: 'a registry name is answered as it is', name: 'myservice.default.svc.cluster.local', rcode: 'NOERROR', answer: ['myservice.default.svc.cluster.local. 5 IN A 10.0.0.50'] },
  ];
  for (const r of rows) {
    it(`${r.type ?? 'A'} ${r.name}: ${r.desc}`, async () => {
      const m = await ask(r.name, r.type, { client: r.client, dnssec: r.dnssec });
      expect(rcodeName(m.header.rcode)).to.equal(r.rcode);
      if (r.answer) expect(lines(m.answers)).to.deep.equal(r.answer);
      if (r.soa) expect(lines(m.authorities)[0]).to.match(SOA);
    });
  }

  it('an answer too big for UDP gets TC=1, and comes whole over TCP', async () => {
    const udp = await ask('big.example.org.default.svc.cluster.local', 'A', { edns: 1232 });
    expect([udp.header.tc, udp.answers.length]).to.deep.equal([1, 0]);
    const tcp = await ask('big.example.org.default.svc.cluster.local', 'A', { transport: 'tcp' });
    expect(tcp.answers.length).to.equal(101);
    expect(lines(tcp.answers)[0]).to.equal('big.example.org.default.svc.cluster.local. 5 IN CNAME big.example.org.');
  });

  it("remembers a client's walk: its next search name is not read as another pod's first one", async () => {
    // A pod in `default` looks up www.shop.data (AAAA first, as gethostbyname2 does). Its own walk:
    // www.shop.data.default.svc…, www.shop.data.svc.cluster.local, …, www.shop.data (NODATA).
    const client = '10.1.1.1';
    const first = await ask('www.shop.data.default.svc.cluster.local', 'AAAA', { client });
    expect(rcodeName(first.header.rcode)).to.equal('NXDOMAIN');
    // Its second search name reads like a first one for a pod in namespace `data` looking up
    // www.shop (which has an AAAA): answering that would change what this client gets.
    const second = await ask('www.shop.data.svc.cluster.local', 'AAAA', { client });
    expect(rcodeName(second.header.rcode)).to.equal('NXDOMAIN');
    expect(svc.stats.autopath!.skipped.get('continuation')).to.equal(1);
    // The A lookup of the same name is answered at the first search name.
    const a = await ask('www.shop.data.default.svc.cluster.local', 'A', { client });
    expect(lines(a.answers)).to.deep.equal(['www.shop.data.default.svc.cluster.local. 5 IN CNAME www.shop.data.', 'www.shop.data. 30 IN A 192.0.2.60']);
    // The residual ambiguity, for a client whose first query svcdns never saw (see the README).
    const stranger = await ask('www.shop.data.svc.cluster.local', 'AAAA', { client: '10.1.1.2' });
    expect(lines(stranger.answers)).to.deep.equal(['www.shop.data.svc.cluster.local. 5 IN CNAME www.shop.', 'www.shop. 30 IN AAAA 2001:db8::61']);
  });

  it('counts its walks', () => {
    const s = svc.stats.autopath!;
    expect(s.walks).to.equal(s.answered + s.allNxdomain + s.stopped);
    expect(s.answered).to.be.at.least(4);
    expect(s.skipped.get('single-label')).to.be.at.least(1);
  });
});
