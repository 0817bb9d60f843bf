import { expect } from 'chai';
import dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DnsServer } from '../../src/dns/server.js';
import { decodeMessage } from '../../src/dns/wire.js';
import { query } from '../helpers/case.js';
import { fixtureServer, SAMPLE_ZONES, FIXTURE_ZONES } from '../helpers/server.js';
import { dig } from '../helpers/tools.js';

// Real sockets on 127.0.0.1:0, real clients nobody here wrote: c-ares (Node's Resolver) and dig.
describe('e2e: the sample zone over UDP and TCP', () => {
  let server: DnsServer;
  let port: number;
  let resolver: Resolver;
  before(async () => {
    server = await fixtureServer(SAMPLE_ZONES);
    port = (await server.listen('127.0.0.1', 0)).udp.port;
    resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([`127.0.0.1:${port}`]);
  });
  after(() => server.close());

  const resolverCases: Array<{ desc: string; run: (r: Resolver) => Promise<unknown>; expect: unknown }> = [
    { desc: 'A myservice', run: (r) => r.resolve4('myservice.default.svc.cluster.local'), expect: ['10.0.0.50'] },
    { desc: 'SRV _http._tcp.myservice', run: (r) => r.resolveSrv('_http._tcp.myservice.default.svc.cluster.local'), expect: [{ name: 'myservice.default.svc.cluster.local', port: 80, priority: 0, weight: 100 }] },
    { desc: 'A headless db (ready pods only)', run: async (r) => (await r.resolve4('db.data.svc.cluster.local')).sort(), expect: ['10.244.1.20', '10.244.2.21'] },
    { desc: 'A db-0 (StatefulSet hostname)', run: (r) => r.resolve4('db-0.db.data.svc.cluster.local'), expect: ['10.244.1.20'] },
    { desc: 'PTR 10.0.0.50', run: (r) => r.reverse('10.0.0.50'), expect: ['myservice.default.svc.cluster.local'] },
    { desc: 'PTR of a pod', run: (r) => r.reverse('10.244.1.11'), expect: ['10-244-1-11.myservice.default.svc.cluster.local'] },
    { desc: 'CNAME of the ExternalName Service', run: (r) => r.resolveCname('docs.data.svc.cluster.local'), expect: ['www.example.org'] },
    { desc: 'NS at the apex', run: (r) => r.resolveNs('cluster.local'), expect: ['ns.dns.cluster.local'] },
    { desc: 'TXT dns-version', run: (r) => r.resolveTxt('dns-version.cluster.local'), expect: [['1.1.0']] },
    {
      desc: 'SOA at the apex',
      run: async (r) => {
        const s = await r.resolveSoa('cluster.local');
        return { ...s, serial: typeof s.serial };
      },
      expect: { nsname: 'ns.dns.cluster.local', hostmaster: 'hostmaster.cluster.local', serial: 'number', refresh: 7200, retry: 1800, expire: 86400, minttl: 5 },
    },
    { desc: 'AAAA on an IPv4 Service: NODATA', run: (r) => r.resolve6('myservice.default.svc.cluster.local').catch((e: NodeJS.ErrnoException) => e.code), expect: 'ENODATA' },
    { desc: 'unknown name: NXDOMAIN', run: (r) => r.resolve4('nosuch.default.svc.cluster.local').catch((e: NodeJS.ErrnoException) => e.code), expect: 'ENOTFOUND' },
    { desc: 'outside the zone: REFUSED', run: (r) => r.resolve4('example.org').catch((e: NodeJS.ErrnoException) => e.code), expect: 'EREFUSED' },
  ];
  for (const c of resolverCases) {
    it(`c-ares: ${c.desc}`, async () => {
      expect(await c.run(resolver)).to.deep.equal(c.expect);
    });
  }

  const digCases: Array<{ args: string[]; expect: string[] }> = [
    { args: ['+short', 'myservice.default.svc.cluster.local'], expect: ['10.0.0.50'] },
    { args: ['+short', '+tcp', 'myservice.default.svc.cluster.local'], expect: ['10.0.0.50'] },
    { args: ['+short', 'SRV', '_http._tcp.myservice.default.svc.cluster.local'], expect: ['0 100 80 myservice.default.svc.cluster.local.'] },
    { args: ['+short', '+tcp', 'SRV', '_postgres._tcp.db.data.svc.cluster.local'], expect: ['0 50 5432 db-0.db.data.svc.cluster.local.', '0 50 5432 db-1.db.data.svc.cluster.local.'] },
    { args: ['+short', '-x', '10.0.0.50'], expect: ['myservice.default.svc.cluster.local.'] },
    { args: ['+short', 'MyService.Default.SVC.cluster.local'], expect: ['10.0.0.50'] },
  ];
  for (const c of digCases) {
    it(`dig ${c.args.join(' ')}`, async () => {
      const out = (await dig(port, c.args)).trim().split('\n').filter(Boolean).sort();
      expect(out).to.deep.equal([...c.expect].sort());
    });
  }

  it('dig: NXDOMAIN with the SOA in authority, AA set', async () => {
    const out = await dig(port, ['nosuch.default.svc.cluster.local']);
    expect(out).to.match(/status: NXDOMAIN/);
    expect(out).to.match(/flags: qr aa rd;/);
    expect(out).to.match(/AUTHORITY SECTION:\ncluster\.local\.\s+5\s+IN\s+SOA\s+ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. \d+ 7200 1800 86400 5/);
  });
});

describe('e2e: transport details', () => {
  let server: DnsServer;
  let port: number;
  before(async () => {
    server = await fixtureServer(FIXTURE_ZONES);
    port = (await server.listen('127.0.0.1', 0)).udp.port;
  });
  after(() => server.close());

  it('dig without EDNS gets TC=1 over UDP and the whole answer by retrying over TCP', async () => {
    const udp = await dig(port, ['+noedns', '+ignore', 'fleet.monitoring.svc.cluster.local']);
    expect(udp).to.match(/flags: qr aa tc rd;/);
    const out = await dig(port, ['+noedns', '+noall', '+answer', 'fleet.monitoring.svc.cluster.local']);
    expect(out.trim().split('\n')).to.have.length(40);
  });

  it('TCP: a length prefix split from its message, then pipelined queries in one write', async () => {
    const frames = await tcpExchange(port, async (sock) => {
      const q1 = query('web.shop.svc.cluster.local', 'A', { id: 1 });
      sock.write(Buffer.from([q1.length >> 8]));
      await sleep(50);
      sock.write(Buffer.concat([Buffer.from([q1.length & 0xff]), q1.subarray(0, 5)]));
      await sleep(50);
      sock.write(q1.subarray(5));
      const more = [2, 3, 4].map((id) => query('db.data.svc.cluster.local', 'A', { id }));
      sock.write(Buffer.concat(more.flatMap((m) => [Buffer.from([m.length >> 8, m.length & 0xff]), m])));
    }, 4);
    expect(frames.map((f) => decodeMessage(f).header.id).sort()).to.deep.equal([1, 2, 3, 4]);
  });

  it('a malformed datagram gets FORMERR or nothing, and the next query is answered', async () => {
    const sock = dgram.createSocket('udp4');
    const replies: Buffer[] = [];
    sock.on('message', (m) => replies.push(m));
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    for (const bad of [Buffer.from('00'), Buffer.from('a1b30100000100000000000040', 'hex'), Buffer.alloc(600, 0xff)]) sock.send(bad, port, '127.0.0.1');
    sock.send(query('web.shop.svc.cluster.local', 'A', { id: 77 }), port, '127.0.0.1');
    await sleep(300);
    sock.close();
    const good = replies.map((r) => decodeMessage(r)).find((m) => m.header.id === 77);
    expect(good?.answers[0]?.address).to.equal('10.96.1.10');
  });
});

function tcpExchange(port: number, send: (sock: net.Socket) => Promise<void>, want: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const frames: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`got ${frames.length} of ${want} replies`));
    }, 5000);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        frames.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (frames.length >= want) {
        clearTimeout(timer);
        sock.end();
        resolve(frames);
      }
    });
    sock.on('error', reject);
    sock.on('connect', () => void send(sock).catch(reject));
  });
}
