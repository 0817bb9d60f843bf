import { expect } from 'chai';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseFlags } from '../../src/cli/args.js';
import { SERVE_FLAGS, serveConfig, startServe, type Running } from '../../src/cli/serve.js';
import { decodeMessage } from '../../src/dns/wire.js';
import { silentLogger } from '../../src/log.js';
import { lines, query, rcodeName } from '../helpers/case.js';
import { blackhole, exampleOrg, freePort, startDnsmasq, type Blackhole, type Dnsmasq } from '../helpers/dnsmasq.js';
import { response } from '../helpers/messages.js';
import { SAMPLE_ZONES } from '../helpers/server.js';
import { dig, startServe as spawnServe } from '../helpers/tools.js';

/** serve starts svcdns in this process (the same code as `svcdns serve`) on 127.0.0.1:0. */
async function serve(args: string[], zones = SAMPLE_ZONES): Promise<Running> {
  const { values } = parseFlags([...args, '--zones', zones, '--dns', '127.0.0.1:0', '--http', '127.0.0.1:0'], {}, SERVE_FLAGS);
  return startServe(serveConfig(values), silentLogger());
}

const portOf = (r: Running) => r.addresses.udp.port;

function resolverFor(port: number): Resolver {
  const r = new Resolver({ timeout: 4000, tries: 1 });
  r.setServers([`127.0.0.1:${port}`]);
  return r;
}

/** ask sends one query over UDP from 127.0.0.1 and decodes the reply (5 s at most). */
async function ask(port: number, name: string, type = 'A'): Promise<ReturnType<typeof decodeMessage>> {
  const s = dgram.createSocket('udp4');
  try {
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${name} in 5 s`)), 5000);
      s.on('message', (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      s.send(query(name, type, { edns: 1232 }), port, '127.0.0.1');
    });
    return decodeMessage(reply);
  } finally {
    s.close();
  }
}

const sumOf = (m: Map<string, number> | undefined) => [...(m?.values() ?? [])].reduce((a, b) => a + b, 0);

describe('e2e: forwarding to a real upstream (dnsmasq)', function () {
  this.timeout(30_000);
  let dm: Dnsmasq;
  let stub: Dnsmasq;
  let svc: Running;
  let port: number;
  before(async () => {
    dm = await startDnsmasq(exampleOrg());
    stub = await startDnsmasq(['--auth-server=ns.corp.test,127.0.0.1', '--auth-zone=corp.test', '--auth-ttl=30', '--host-record=app.corp.test,192.0.2.77']);
    svc = await serve(['--upstream', `127.0.0.1:${dm.port}`, '--forward', `corp.test=127.0.0.1:${stub.port}`, '--forward-timeout', '1500']);
    port = portOf(svc);
  });
  after(async () => {
    await svc?.close();
    await dm?.stop();
    await stub?.stop();
  });

  it('c-ares resolves an upstream name, a TXT record and a registry name through svcdns', async () => {
    const r = resolverFor(port);
    expect(await r.resolve4('host.example.org')).to.deep.equal(['192.0.2.8']);
    expect(await r.resolveTxt('txt.example.org')).to.deep.equal([['hello from dnsmasq']]);
    expect(await r.resolve4('myservice.default.svc.cluster.local')).to.deep.equal(['10.0.0.50']);
  });

  it('dig: RA set for an allowed client, AA cleared on forwarded answers, kept on registry ones', async () => {
    const out = await dig(port, ['host.example.org']);
    expect(out).to.match(/status: NOERROR/);
    expect(out).to.match(/flags: qr rd ra;/);
    expect(out).to.not.match(/WARNING: recursion requested but not available/);
    expect(await dig(port, ['myservice.default.svc.cluster.local'])).to.match(/flags: qr aa rd ra;/);
  });

  it('TCP fallback: a 1.6 KB answer comes over TCP from dnsmasq and to dig (TC, then TCP)', async () => {
    const before = svc.stats.forward!.tcp;
    const out = await dig(port, ['+time=5', 'big.example.org']); // dnsmasq forks for TCP: allow for a loaded machine
    expect(out).to.match(/Truncated, retrying in TCP mode/);
    expect(out).to.match(/ANSWER: 100,/);
    expect(svc.stats.forward!.tcp).to.equal(before + 1);
    expect(await resolverFor(port).resolve4('big.example.org')).to.have.length(100);
  });

  it('caches answers: the second comes from the cache with the TTL counted down', async () => {
    const first = await ask(port, 'upstream.example.org');
    const sent = sumOf(svc.stats.forward!.requests);
    await sleep(1100);
    const second = await ask(port, 'upstream.example.org');
    expect(lines(first.answers)).to.deep.equal(['upstream.example.org. 30 IN A 192.0.2.7']);
    expect(second.answers[0]!.ttl).to.be.within(27, 29);
    expect(sumOf(svc.stats.forward!.requests)).to.equal(sent);
  });

  it('caches NXDOMAIN and NODATA from the SOA (RFC 2308), counting the SOA TTL down', async () => {
    const hits = svc.stats.cache!.denialHits;
    const nx = await ask(port, 'nx.example.org');
    expect(rcodeName(nx.header.rcode)).to.equal('NXDOMAIN');
    expect(lines(nx.authorities)[0]).to.match(/^example\.org\. 30 IN SOA ns\.example\.org\. /);
    await sleep(1100);
    const again = await ask(port, 'nx.example.org');
    expect(rcodeName(again.header.rcode)).to.equal('NXDOMAIN');
    expect(again.authorities[0]!.ttl).to.be.within(27, 29);
    const nodata = await ask(port, 'host.example.org', 'AAAA');
    expect([rcodeName(nodata.header.rcode), nodata.answers.length]).to.deep.equal(['NOERROR', 0]);
    await ask(port, 'host.example.org', 'AAAA');
    expect(svc.stats.cache!.denialHits).to.equal(hits + 2);
  });

  it('stub domains go to their own servers; the rest to --upstream', async () => {
    expect(lines((await ask(port, 'app.corp.test')).answers)).to.deep.equal(['app.corp.test. 30 IN A 192.0.2.77']);
    expect(svc.stats.forward!.requests.get(`127.0.0.1:${stub.port}`)).to.be.at.least(1);
  });

  it('recursion ACL: a client outside it gets REFUSED for outside names, registry answers without RA', async () => {
    const refused = decodeMessage((await svc.dns.handle(query('host.example.org', 'A'), 'udp', '203.0.113.7'))!);
    expect(rcodeName(refused.header.rcode)).to.equal('REFUSED');
    expect(refused.header.ra).to.equal(0);
    const cached = decodeMessage((await svc.dns.handle(query('upstream.example.org', 'A'), 'udp', '203.0.113.7'))!);
    expect(rcodeName(cached.header.rcode), 'not from the cache either').to.equal('REFUSED');
    const registry = decodeMessage((await svc.dns.handle(query('myservice.default.svc.cluster.local', 'A'), 'udp', '203.0.113.7'))!);
    expect([rcodeName(registry.header.rcode), registry.header.ra, registry.answers.length]).to.deep.equal(['NOERROR', 0, 1]);
    expect(svc.stats.forward!.refusedAcl).to.be.at.least(2);
  });

  it('--allow-recursion that leaves loopback out: dig from 127.0.0.1 is refused and warned', async () => {
    const other = await serve(['--upstream', `127.0.0.1:${dm.port}`, '--allow-recursion', '192.0.2.0/24']);
    try {
      const out = await dig(portOf(other), ['host.example.org']);
      expect(out).to.match(/status: REFUSED/);
      expect(out).to.match(/WARNING: recursion requested but not available/);
    } finally {
      await other.close();
    }
  });

  it('an upstream that refuses (dnsmasq knows no corp.test) makes svcdns try the next one', async () => {
    const other = await serve(['--upstream', `127.0.0.1:${dm.port}`, '--upstream', `127.0.0.1:${stub.port}`, '--cache-size', '0']);
    try {
      expect(lines((await ask(portOf(other), 'app.corp.test')).answers)).to.deep.equal(['app.corp.test. 30 IN A 192.0.2.77']);
      expect(other.stats.forward!.responses.get(`127.0.0.1:${dm.port}`)?.get('REFUSED')).to.equal(1);
    } finally {
      await other.close();
    }
  });

  it('a cached answer never outlives the registry: a zone folder added while serving takes its names at once', async () => {
    const zones = await mkdtemp(join(tmpdir(), 'svcdns-live-'));
    await cp(SAMPLE_ZONES, zones, { recursive: true });
    const live = await serve(['--upstream', `127.0.0.1:${dm.port}`], zones);
    try {
      expect(lines((await ask(portOf(live), 'host.example.org')).answers)).to.deep.equal(['host.example.org. 30 IN A 192.0.2.8']);
      await ask(portOf(live), 'host.example.org');
      expect(live.stats.cache!.hits).to.equal(1);
      await mkdir(join(zones, 'example.org'));
      await writeFile(join(zones, 'example.org', 'web.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {clusterIP: 10.96.5.5}\n');
      let m = await ask(portOf(live), 'host.example.org');
      for (let i = 0; i < 50 && m.header.aa !== 1; i++) {
        await sleep(100);
        m = await ask(portOf(live), 'host.example.org');
      }
      expect([rcodeName(m.header.rcode), m.header.aa, m.answers.length]).to.deep.equal(['NXDOMAIN', 1, 0]);
      expect(lines(m.authorities)[0]).to.match(/^example\.org\. 5 IN SOA ns\.dns\.example\.org\. /);
      expect(live.stats.cache!.entries()).to.equal(0);
    } finally {
      await live.close();
      await rm(zones, { recursive: true, force: true });
    }
  });

  it('--upstream none with a stub domain: only that domain is forwarded', async () => {
    const other = await serve(['--upstream', 'none', '--forward', `corp.test=127.0.0.1:${stub.port}`]);
    try {
      expect(rcodeName((await ask(portOf(other), 'host.example.org')).header.rcode)).to.equal('REFUSED');
      expect(lines((await ask(portOf(other), 'app.corp.test')).answers)).to.deep.equal(['app.corp.test. 30 IN A 192.0.2.77']);
    } finally {
      await other.close();
    }
  });
});

describe('e2e: upstream failures', function () {
  this.timeout(30_000);
  let dm: Dnsmasq;
  let hole: Blackhole;
  before(async () => {
    dm = await startDnsmasq(exampleOrg());
    hole = await blackhole();
  });
  after(async () => {
    await dm?.stop();
    await hole?.close();
  });

  it('a port nobody listens on: SERVFAIL at once (ICMP unreachable), well within the client timeout', async () => {
    const svc = await serve(['--upstream', `127.0.0.1:${await freePort()}`, '--forward-timeout', '3000']);
    try {
      const started = Date.now();
      const m = await ask(portOf(svc), 'host.example.org');
      expect(rcodeName(m.header.rcode)).to.equal('SERVFAIL');
      expect(Date.now() - started).to.be.below(2500);
    } finally {
      await svc.close();
    }
  });

  it('an upstream that never answers: SERVFAIL at --forward-timeout, never a hang', async () => {
    const svc = await serve(['--upstream', `127.0.0.1:${hole.port}`, '--forward-timeout', '500']);
    try {
      const out = await dig(portOf(svc), ['+time=4', 'host.example.org']);
      expect(out).to.match(/status: SERVFAIL/);
      expect(svc.stats.forward!.servfail).to.be.at.least(1);
    } finally {
      await svc.close();
    }
  });

  it('the next upstream answers when the first never does; after 2 failures the first is skipped', async () => {
    const svc = await serve(['--upstream', `127.0.0.1:${hole.port}`, '--upstream', `127.0.0.1:${dm.port}`, '--forward-timeout', '1000', '--cache-size', '0']);
    try {
      for (let i = 0; i < 2; i++) expect(lines((await ask(portOf(svc), 'host.example.org')).answers)).to.deep.equal(['host.example.org. 30 IN A 192.0.2.8']);
      const seen = hole.received();
      for (let i = 0; i < 3; i++) expect(rcodeName((await ask(portOf(svc), 'host.example.org')).header.rcode)).to.equal('NOERROR');
      expect(hole.received(), 'unhealthy: skipped').to.equal(seen);
    } finally {
      await svc.close();
    }
  });

  it('an unhealthy upstream is used again once a health check passes', async () => {
    const p = await freePort();
    const svc = await serve(['--upstream', `127.0.0.1:${p}`, '--upstream', `127.0.0.1:${dm.port}`, '--cache-size', '0']);
    let back: Dnsmasq | undefined;
    try {
      for (let i = 0; i < 2; i++) expect(lines((await ask(portOf(svc), 'host.example.org')).answers)).to.deep.equal(['host.example.org. 30 IN A 192.0.2.8']);
      back = await startDnsmasq(['--auth-server=ns.example.org,127.0.0.1', '--auth-zone=example.org', '--auth-ttl=30', '--host-record=host.example.org,192.0.2.99'], p);
      let answer = '';
      for (let i = 0; i < 50 && !answer.includes('192.0.2.99'); i++) {
        await sleep(100);
        answer = lines((await ask(portOf(svc), 'host.example.org')).answers).join();
      }
      expect(answer).to.equal('host.example.org. 30 IN A 192.0.2.99');
    } finally {
      await svc.close();
      await back?.stop();
    }
  });

  it('--max-concurrent: a query over the bound is REFUSED at once', async () => {
    const svc = await serve(['--upstream', `127.0.0.1:${hole.port}`, '--max-concurrent', '1', '--forward-timeout', '1000']);
    try {
      const first = ask(portOf(svc), 'one.example.org');
      await sleep(50);
      expect(rcodeName((await ask(portOf(svc), 'two.example.org')).header.rcode)).to.equal('REFUSED');
      expect(rcodeName((await first).header.rcode)).to.equal('SERVFAIL');
      expect(svc.stats.forward!.refusedBusy).to.equal(1);
    } finally {
      await svc.close();
    }
  });

  it('replies that do not answer the query (wrong ID, wrong name) are ignored', async () => {
    const fake = dgram.createSocket('udp4');
    fake.on('message', (msg, rinfo) => {
      const id = msg.readUInt16BE(0);
      const name = 'host.example.org';
      fake.send(response({ id: (id + 1) & 0xffff, qname: name, qtype: 'A', answers: [{ name, type: 'A', ttl: 60, address: '198.51.100.1' }] }), rinfo.port, rinfo.address);
      fake.send(response({ id, qname: 'evil.example.org', qtype: 'A', answers: [{ name: 'evil.example.org', type: 'A', ttl: 60, address: '198.51.100.2' }] }), rinfo.port, rinfo.address);
      fake.send(response({ id, qname: name, qtype: 'A', answers: [{ name, type: 'A', ttl: 60, address: '192.0.2.8' }] }), rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => fake.bind(0, '127.0.0.1', () => r()));
    const svc = await serve(['--upstream', `127.0.0.1:${fake.address().port}`]);
    try {
      expect(lines((await ask(portOf(svc), 'host.example.org')).answers)).to.deep.equal(['host.example.org. 60 IN A 192.0.2.8']);
      expect(svc.stats.forward!.ignored).to.be.at.least(2); // the loop probe at start gets the same treatment
    } finally {
      await svc.close();
      fake.close();
    }
  });
});

describe('e2e: forwarding loops are refused at start', function () {
  this.timeout(30_000);

  it('an upstream that is our own DNS address', async () => {
    const p = await freePort();
    const err = await spawnServe(['--zones', SAMPLE_ZONES, '--dns', `127.0.0.1:${p}`, '--upstream', `127.0.0.1:${p}`]).then(
      (s) => s.stop().then(() => null),
      (e: Error & { code?: number; output?: string }) => e,
    );
    expect(err?.code).to.equal(2);
    expect(err?.output).to.match(/ERR_UPSTREAM_LOOP/);
    expect(err?.output).to.match(/upstream 127\.0\.0\.1:\d+ is svcdns's own DNS address/);
  });

  it('an upstream (dnsmasq) that forwards back to svcdns: the probe comes back', async () => {
    const p = await freePort();
    const loop = await startDnsmasq([`--server=127.0.0.1#${p}`]);
    try {
      const err = await spawnServe(['--zones', SAMPLE_ZONES, '--dns', `127.0.0.1:${p}`, '--upstream', `127.0.0.1:${loop.port}`]).then(
        (s) => s.stop().then(() => null),
        (e: Error & { code?: number; output?: string }) => e,
      );
      expect(err?.code).to.equal(2);
      expect(err?.output).to.match(/refusing to start: forwarding loop: upstream 127\.0\.0\.1:\d+ sent svcdns's loop probe back to svcdns/);
    } finally {
      await loop.stop();
    }
  });

  it('a stub domain server that forwards back is caught too', async () => {
    const p = await freePort();
    const loop = await startDnsmasq([`--server=127.0.0.1#${p}`]);
    try {
      const err = await spawnServe(['--zones', SAMPLE_ZONES, '--dns', `127.0.0.1:${p}`, '--upstream', 'none', '--forward', `corp.test=127.0.0.1:${loop.port}`]).then(
        (s) => s.stop().then(() => null),
        (e: Error & { code?: number; output?: string }) => e,
      );
      expect(err?.code).to.equal(2);
      expect(err?.output).to.match(/sent svcdns's loop probe back/);
    } finally {
      await loop.stop();
    }
  });
});
