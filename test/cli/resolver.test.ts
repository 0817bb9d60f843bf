import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFlags } from '../../src/cli/args.js';
import { RESOLVER_FLAGS, resolverConfig, type ResolverConfig } from '../../src/cli/resolver.js';
import { parseResolvConf } from '../../src/dns/handlers/forward/resolvconf.js';
import { parseUpstream } from '../../src/dns/handlers/forward/upstream.js';
import { SvcdnsError } from '../../src/errors.js';

describe('resolver config: flags, resolv.conf and upstream addresses', () => {
  const upstreams: Array<[string, string | null]> = [
    ['192.0.2.1', '192.0.2.1:53'],
    ['192.0.2.1:5353', '192.0.2.1:5353'],
    ['[2001:db8::1]:53', '[2001:db8::1]:53'],
    ['[::1]', '[::1]:53'],
    ['2001:db8::1', '[2001:db8::1]:53'],
    ['fe80::1%eth0', '[fe80::1%eth0]:53'],
    ['192.0.2.1:0', null],
    ['192.0.2.1:70000', null],
    ['192.0.2.256', null],
    ['dns.example.org', null],
    ['', null],
  ];
  for (const [text, label] of upstreams) {
    it(`upstream "${text}" → ${label ?? 'refused'}`, () => {
      expect(parseUpstream(text)?.label ?? null).to.equal(label);
    });
  }

  const resolvConfs: Array<{ text: string; nameservers: string[]; search: string[] }> = [
    { text: 'nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch example.org corp.example.org.\n', nameservers: ['127.0.0.53'], search: ['example.org', 'corp.example.org'] },
    { text: '# comment\nnameserver 192.0.2.1 ; trailing\nnameserver 192.0.2.2\nnameserver 192.0.2.3\nnameserver 192.0.2.4\n', nameservers: ['192.0.2.1', '192.0.2.2', '192.0.2.3'], search: [] },
    { text: 'search a.example\ndomain b.example\n', nameservers: [], search: ['b.example'] },
    { text: 'domain b.example\nsearch A.example c.example\n', nameservers: [], search: ['a.example', 'c.example'] },
    { text: '', nameservers: [], search: [] },
  ];
  for (const r of resolvConfs) {
    it(`resolv.conf ${JSON.stringify(r.text.slice(0, 40))}`, () => {
      expect(parseResolvConf(r.text)).to.deep.equal({ nameservers: r.nameservers, search: r.search });
    });
  }

  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'svcdns-resolver-'));
    await writeFile(join(dir, 'resolv.conf'), 'search node.example.org\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n');
    await writeFile(join(dir, 'empty.conf'), 'search node.example.org\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const config = (argv: string[]) => resolverConfig(parseFlags(argv, {}, RESOLVER_FLAGS).values);
  const rows: Array<{ args: (d: string) => string[]; expect?: (c: ResolverConfig) => void; error?: RegExp }> = [
    {
      args: (d) => ['--resolv-conf', join(d, 'resolv.conf')],
      expect: (c) => {
        expect(c.upstreams.map((u) => u.label)).to.deep.equal(['192.0.2.53:53', '[2001:db8::53]:53']);
        expect(c.upstreamSource).to.match(/resolv\.conf$/);
        expect(c.hostSearch, 'only read for --autopath').to.deep.equal([]);
      },
    },
    {
      args: (d) => ['--resolv-conf', join(d, 'resolv.conf'), '--autopath'],
      expect: (c) => expect(c.hostSearch).to.deep.equal(['\x04node\x07example\x03org\x00']),
    },
    { args: (d) => ['--resolv-conf', join(d, 'empty.conf')], error: /lists no nameserver.*--upstream none/ },
    { args: (d) => ['--resolv-conf', join(d, 'missing.conf')], error: /missing\.conf: ENOENT.*--upstream none/ },
    { args: () => ['--upstream', 'none', '--resolv-conf', '/nonexistent'], expect: (c) => expect(c.upstreams).to.deep.equal([]) },
    { args: () => ['--upstream', '127.0.0.1:5300', '--upstream', '[::1]:5300'], expect: (c) => expect(c.upstreams.map((u) => u.label)).to.deep.equal(['127.0.0.1:5300', '[::1]:5300']) },
    { args: () => ['--upstream', 'none', '--upstream', '127.0.0.1'], error: /--upstream none: expected an IP address/ },
    { args: () => ['--upstream', 'resolver.example.org'], error: /--upstream resolver\.example\.org: expected an IP address/ },
    {
      args: () => ['--upstream', 'none', '--forward', 'corp.example.org=192.0.2.1', '--forward', 'Corp.Example.org.=192.0.2.2:5300', '--forward', 'lab.test=[2001:db8::2]'],
      expect: (c) =>
        expect(c.stubs.map((s) => [s.domain, s.servers.map((x) => x.label)])).to.deep.equal([
          ['corp.example.org', ['192.0.2.1:53', '192.0.2.2:5300']],
          ['lab.test', ['[2001:db8::2]:53']],
        ]),
    },
    { args: () => ['--upstream', 'none', '--forward', 'corp.example.org'], error: /--forward corp\.example\.org: expected DOMAIN=HOST/ },
    { args: () => ['--upstream', 'none', '--forward', 'bad..domain=192.0.2.1'], error: /expected DOMAIN=HOST/ },
    { args: () => ['--upstream', 'none'], expect: (c) => expect(c.allowRecursion.map((x) => x.text)).to.include.members(['127.0.0.0/8', '10.0.0.0/8', 'fc00::/7']) },
    { args: () => ['--upstream', 'none', '--allow-recursion', '192.0.2.0/24,2001:db8::/32'], expect: (c) => expect(c.allowRecursion.map((x) => x.text)).to.deep.equal(['192.0.2.0/24', '2001:db8::/32']) },
    { args: () => ['--upstream', 'none', '--allow-recursion', '192.0.2.0/40'], error: /--allow-recursion: 192\.0\.2\.0\/40 is not an address or CIDR/ },
    { args: () => ['--upstream', 'none', '--cache-size', 'lots'], error: /--cache-size lots: expected a whole number/ },
    { args: () => ['--upstream', 'none', '--cache-min-ttl', '600', '--cache-max-ttl', '60'], error: /--cache-min-ttl 600 is above --cache-max-ttl 60/ },
    { args: () => ['--upstream', 'none', '--forward-timeout', '10'], error: /--forward-timeout 10: expected a whole number from 100/ },
    {
      args: () => ['--upstream', 'none', '--cache-size', '0', '--cache-min-ttl', '5', '--cache-max-ttl', '300', '--forward-timeout', '750', '--max-concurrent', '10'],
      expect: (c) => {
        expect(c.cache).to.deep.equal({ size: 0, minTtl: 5, maxTtl: 300 });
        expect([c.timeoutMs, c.maxConcurrent]).to.deep.equal([750, 10]);
      },
    },
  ];
  for (const r of rows) {
    const shown = r.args('DIR').join(' ');
    it(`${shown}: ${r.error ? 'ERR_CONFIG' : 'ok'}`, () => {
      if (r.error) {
        let err: unknown;
        try {
          config(r.args(dir));
        } catch (e) {
          err = e;
        }
        expect(err).to.be.instanceOf(SvcdnsError);
        expect((err as SvcdnsError).code).to.equal('ERR_CONFIG');
        expect((err as Error).message).to.match(r.error);
      } else {
        r.expect!(config(r.args(dir)));
      }
    });
  }

  it('SVCDNS_UPSTREAM and SVCDNS_FORWARD take comma-separated lists', () => {
    const c = resolverConfig(parseFlags([], { SVCDNS_UPSTREAM: '127.0.0.1:5300,127.0.0.2', SVCDNS_FORWARD: 'a.test=192.0.2.1,a.test=192.0.2.2' }, RESOLVER_FLAGS).values);
    expect(c.upstreams.map((u) => u.label)).to.deep.equal(['127.0.0.1:5300', '127.0.0.2:53']);
    expect(c.stubs[0]?.servers.map((s) => s.label)).to.deep.equal(['192.0.2.1:53', '192.0.2.2:53']);
  });
});
