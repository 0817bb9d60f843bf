import { expect } from 'chai';
import { parseNodeResolvConf } from '../../src/envvars/node-resolv.js';
import { dnsType, fitSearches, formatResolvConf, mergeOptions, podResolv, LEGACY_LIMITS, type DnsPolicy, type NodeDNS, type PodDNS } from '../../src/envvars/resolv.js';

const NODE: NodeDNS = { clusterDNS: ['10.96.0.10'], clusterDomain: 'cluster.local', host: { nameservers: [], searches: [], options: [] } };
const CORP_NODE: NodeDNS = {
  ...NODE,
  host: { nameservers: ['192.0.2.53', '192.0.2.54'], searches: ['corp.example.com', 'cluster.local'], options: ['timeout:1', 'rotate'] },
};

describe('resolv.conf: policy to mode (getPodDNSType)', () => {
  const rows: Array<[DnsPolicy | undefined, boolean, string]> = [
    [undefined, false, 'cluster'],
    ['ClusterFirst', false, 'cluster'],
    ['ClusterFirst', true, 'host'],
    ['ClusterFirstWithHostNet', true, 'cluster'],
    ['ClusterFirstWithHostNet', false, 'cluster'],
    ['Default', false, 'host'],
    ['Default', true, 'host'],
    ['None', false, 'none'],
    ['None', true, 'none'],
  ];
  for (const [policy, hostNet, want] of rows) it(`${policy ?? '(unset)'}${hostNet ? ' + hostNetwork' : ''} -> ${want}`, () => expect(dnsType(policy, hostNet)).to.equal(want));
});

/** A row: the pod, the node, and the whole file expected (containerd's layout). */
interface Row {
  desc: string;
  pod: PodDNS;
  node?: NodeDNS;
  want: string;
  warnings?: RegExp[];
}

const manySearches = (n: number) => Array.from({ length: n }, (_, i) => `d${i + 4}.example.org`);

const rows: Row[] = [
  {
    desc: 'ClusterFirst in default: cluster search, the cluster DNS, ndots:5',
    pod: { namespace: 'default' },
    want: 'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
  },
  {
    desc: 'the namespace goes first in the search list',
    pod: { namespace: 'team-a', dnsPolicy: 'ClusterFirst' },
    want: 'search team-a.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
  },
  {
    desc: 'another cluster domain',
    pod: { namespace: 'team-b' },
    node: { ...NODE, clusterDomain: 'example.internal' },
    want: 'search team-b.svc.example.internal svc.example.internal example.internal\nnameserver 10.96.0.10\noptions ndots:5\n',
  },
  {
    desc: 'node search appended and deduplicated; node nameservers and options dropped',
    pod: { namespace: 'default' },
    node: CORP_NODE,
    want: 'search default.svc.cluster.local svc.cluster.local cluster.local corp.example.com\nnameserver 10.96.0.10\noptions ndots:5\n',
  },
  {
    desc: 'Default: the node file as parsed',
    pod: { namespace: 'team-a', dnsPolicy: 'Default' },
    node: CORP_NODE,
    want: 'search corp.example.com cluster.local\nnameserver 192.0.2.53\nnameserver 192.0.2.54\noptions timeout:1 rotate\n',
  },
  {
    desc: 'ClusterFirst with hostNetwork falls back to Default',
    pod: { namespace: 'team-a', dnsPolicy: 'ClusterFirst', hostNetwork: true },
    node: CORP_NODE,
    want: 'search corp.example.com cluster.local\nnameserver 192.0.2.53\nnameserver 192.0.2.54\noptions timeout:1 rotate\n',
  },
  {
    desc: 'ClusterFirstWithHostNet with hostNetwork: cluster mode, node search appended',
    pod: { namespace: 'team-a', dnsPolicy: 'ClusterFirstWithHostNet', hostNetwork: true },
    node: CORP_NODE,
    want: 'search team-a.svc.cluster.local svc.cluster.local cluster.local corp.example.com\nnameserver 10.96.0.10\noptions ndots:5\n',
  },
  {
    desc: 'None: only dnsConfig, no cluster search, no ndots:5',
    pod: { namespace: 'team-b', dnsPolicy: 'None', dnsConfig: { nameservers: ['192.0.2.1'], searches: ['example.org'], options: [{ name: 'ndots', value: '2' }] } },
    node: CORP_NODE,
    want: 'search example.org\nnameserver 192.0.2.1\noptions ndots:2\n',
  },
  {
    desc: 'dnsConfig: ndots:2 replaces ndots:5, edns0 bare, searches appended, duplicate dropped',
    pod: {
      namespace: 'team-a',
      dnsConfig: { searches: ['corp.example.com', 'svc.cluster.local'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] },
    },
    want: 'search team-a.svc.cluster.local svc.cluster.local cluster.local corp.example.com\nnameserver 10.96.0.10\noptions ndots:2 edns0\n',
  },
  {
    desc: 'dnsConfig nameservers appended, the duplicate of the cluster DNS dropped',
    pod: { namespace: 'default', dnsConfig: { nameservers: ['10.96.0.10', '192.0.2.1'] } },
    want: 'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\nnameserver 192.0.2.1\noptions ndots:5\n',
  },
  {
    desc: 'dnsConfig on Default merges options with the node ones (timeout replaced in place)',
    pod: { namespace: 'default', dnsPolicy: 'Default', dnsConfig: { options: [{ name: 'timeout', value: '3' }, { name: 'single-request' }] } },
    node: CORP_NODE,
    want: 'search corp.example.com cluster.local\nnameserver 192.0.2.53\nnameserver 192.0.2.54\noptions timeout:3 rotate single-request\n',
  },
  {
    desc: 'at most 3 nameservers: cluster DNS + 3 from the pod -> first 3',
    pod: { namespace: 'default', dnsConfig: { nameservers: ['192.0.2.1', '192.0.2.2', '192.0.2.3'] } },
    want: 'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\nnameserver 192.0.2.1\nnameserver 192.0.2.2\noptions ndots:5\n',
    warnings: [/Nameserver limits were exceeded.*10\.96\.0\.10 192\.0\.2\.1 192\.0\.2\.2$/],
  },
  {
    desc: 'IPv6 cluster DNS: written bare, no brackets',
    pod: { namespace: 'team-a' },
    node: { ...NODE, clusterDNS: ['fd00:10:96::a'] },
    want: 'search team-a.svc.cluster.local svc.cluster.local cluster.local\nnameserver fd00:10:96::a\noptions ndots:5\n',
  },
  {
    desc: 'dual-stack cluster DNS keeps its order',
    pod: { namespace: 'default' },
    node: { ...NODE, clusterDNS: ['fd00:10:96::a', '10.96.0.10'] },
    want: 'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver fd00:10:96::a\nnameserver 10.96.0.10\noptions ndots:5\n',
  },
  {
    desc: '32 search domains at most: 3 cluster + 30 from the pod -> 32',
    pod: { namespace: 'ns', dnsConfig: { searches: manySearches(30) } },
    want: `search ns.svc.cluster.local svc.cluster.local cluster.local ${manySearches(29).join(' ')}\nnameserver 10.96.0.10\noptions ndots:5\n`,
    warnings: [/Search Line limits were exceeded/],
  },
  {
    desc: 'an empty cluster domain: the node search list only',
    pod: { namespace: 'default' },
    node: { ...CORP_NODE, clusterDomain: '' },
    want: 'search corp.example.com cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
  },
  {
    desc: 'no cluster DNS configured: ClusterFirst falls back to Default, with the MissingClusterDNS event',
    pod: { namespace: 'default' },
    node: { ...CORP_NODE, clusterDNS: [] },
    want: 'search corp.example.com cluster.local\nnameserver 192.0.2.53\nnameserver 192.0.2.54\noptions timeout:1 rotate\n',
    warnings: [/MissingClusterDNS/],
  },
  {
    desc: 'Default with no node file (kubelet --resolv-conf=""): 127.0.0.1 and search "."',
    pod: { namespace: 'default', dnsPolicy: 'Default' },
    node: { ...NODE, host: null },
    want: 'search .\nnameserver 127.0.0.1\n',
  },
  {
    desc: 'None without dnsConfig writes nothing',
    pod: { namespace: 'default', dnsPolicy: 'None' },
    want: '',
  },
];

describe('resolv.conf: a pod resolv.conf (GetPodDNS, then containerd layout)', () => {
  for (const r of rows) {
    it(r.desc, () => {
      const got = podResolv(r.pod, r.node ?? NODE);
      expect(formatResolvConf(got)).to.equal(r.want);
      expect(got.warnings.length, got.warnings.join('\n')).to.equal(r.warnings?.length ?? 0);
      r.warnings?.forEach((w, i) => expect(got.warnings[i]).to.match(w));
    });
  }
});

describe('resolv.conf: search list limits (formDNSSearchFitsLimits)', () => {
  // kubelet's own cases: 2048 = 128 + 15 * 127 + 15 spaces.
  const list2048 = ['A'.repeat(128), ...Array<string>(15).fill('A'.repeat(127))];
  const rows: Array<{ desc: string; in: string[]; out: string[]; exceeded: boolean; legacy?: boolean }> = [
    { desc: '3 domains', in: ['ns.svc.t', 'svc.t', 't'], out: ['ns.svc.t', 'svc.t', 't'], exceeded: false },
    { desc: 'exactly 2048 characters are kept', in: list2048, out: list2048, exceeded: false },
    { desc: '2050 characters: the last domain goes', in: [...list2048, 'B'], out: list2048, exceeded: true },
    { desc: 'a domain over 253 characters is dropped, the rest kept', in: ['a', 'b'.repeat(254), 'c'], out: ['a', 'c'], exceeded: true },
    { desc: 'exactly 253 characters is fine', in: ['b'.repeat(253)], out: ['b'.repeat(253)], exceeded: false },
    { desc: '32 domains are kept', in: Array.from({ length: 32 }, (_, i) => `d${i}`), out: Array.from({ length: 32 }, (_, i) => `d${i}`), exceeded: false },
    { desc: '33 domains: the 33rd goes', in: Array.from({ length: 33 }, (_, i) => `d${i}`), out: Array.from({ length: 32 }, (_, i) => `d${i}`), exceeded: true },
    {
      desc: 'the count is cut before long domains are dropped (kubelet order): 33 with one too long -> 31',
      in: ['x'.repeat(254), ...Array.from({ length: 32 }, (_, i) => `d${i}`)],
      out: Array.from({ length: 31 }, (_, i) => `d${i}`),
      exceeded: true,
    },
    { desc: 'legacy limits: 7 domains -> 6', in: ['a', 'b', 'c', 'd', 'e', 'f', 'g'], out: ['a', 'b', 'c', 'd', 'e', 'f'], exceeded: true, legacy: true },
  ];
  for (const r of rows) {
    it(r.desc, () => {
      const got = fitSearches(r.in, r.legacy ? LEGACY_LIMITS : undefined);
      expect(got.searches).to.deep.equal(r.out);
      expect(got.exceeded).to.equal(r.exceeded);
      expect(got.searches.join(' ').length).to.be.at.most(r.legacy ? 256 : 2048);
    });
  }
  it('a pod whose search line would pass 2048 characters is cut from the end', () => {
    const long = Array.from({ length: 25 }, (_, i) => `${'x'.repeat(80)}${i}.example.org`);
    const got = podResolv({ namespace: 'default', dnsConfig: { searches: long } }, NODE);
    expect(got.searches.join(' ').length).to.be.at.most(2048);
    expect(got.searches.slice(0, 3)).to.deep.equal(['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local']);
    expect(got.searches.length).to.be.lessThan(28);
    expect(got.searches.at(-1)).to.equal(long[got.searches.length - 4]);
  });
});

describe('resolv.conf: options merge (mergeDNSOptions)', () => {
  const three = '3';
  const rows: Array<{ desc: string; base: string[]; pod: Array<{ name: string; value?: string }>; want: string[] }> = [
    { desc: 'no pod options', base: ['ndots:5', 'debug'], pod: [], want: ['ndots:5', 'debug'] },
    { desc: 'new ones appended', base: ['ndots:5', 'debug'], pod: [{ name: 'single-request' }, { name: 'attempts', value: three }], want: ['ndots:5', 'debug', 'single-request', 'attempts:3'] },
    {
      desc: 'same name replaced, a bare one stays bare',
      base: ['ndots:5', 'debug'],
      pod: [{ name: 'ndots', value: three }, { name: 'debug' }, { name: 'single-request' }, { name: 'attempts', value: three }],
      want: ['ndots:3', 'debug', 'single-request', 'attempts:3'],
    },
    { desc: 'an empty value is written bare', base: [], pod: [{ name: 'edns0', value: '' }], want: ['edns0'] },
  ];
  for (const r of rows) it(r.desc, () => expect(mergeOptions(r.base, r.pod)).to.deep.equal(r.want));
});

describe("resolv.conf: parsing the node's file (kubelet parseResolvConf)", () => {
  const rows: Array<{ text: string; ns?: string[]; search?: string[]; options?: string[]; bad?: number }> = [
    { text: '' },
    { text: ' \n\t\n' },
    { text: '#comment\n #comment\n' },
    { text: '#comment\nnameserver', bad: 2 },
    { text: 'nameserver 1.2.3.4\nsearch', ns: ['1.2.3.4'] },
    { text: ' nameserver 1.2.3.4', ns: ['1.2.3.4'] },
    { text: 'nameserver\t1.2.3.4', ns: ['1.2.3.4'] },
    { text: 'nameserver 1.2.3.4 #comment', ns: ['1.2.3.4'] },
    { text: 'nameserver 1.2.3.4\nnameserver 5.6.7.8\r\n', ns: ['1.2.3.4', '5.6.7.8'] },
    { text: 'nameserver fd00::53', ns: ['fd00::53'] },
    { text: 'search foo bar', search: ['foo', 'bar'] },
    { text: 'search foo. bar', search: ['foo', 'bar'] },
    { text: 'search .', search: ['.'] },
    { text: 'search example.com. .', search: ['example.com', '.'] },
    { text: 'search foo\nsearch bar', search: ['bar'] },
    { text: 'domain corp.example.com\nsortlist 10.0.0.0/8' },
    { text: 'nameserver 1.2.3.4\nsearch foo\nnameserver 5.6.7.8\nsearch bar', ns: ['1.2.3.4', '5.6.7.8'], search: ['bar'] },
    { text: 'options ndots:5 attempts:2', options: ['ndots:5', 'attempts:2'] },
    { text: 'options ndots:1\noptions ndots:5 attempts:3', options: ['ndots:5', 'attempts:3'] },
    { text: 'options timeout:1\noptions attempts:3', options: ['timeout:1', 'attempts:3'] },
    { text: 'options rotate\noptions rotate edns0', options: ['rotate', 'edns0'] },
  ];
  for (const r of rows) {
    it(JSON.stringify(r.text), () => {
      const { config, problems } = parseNodeResolvConf(r.text);
      if (r.bad) {
        expect(problems.map((p) => p.line)).to.deep.equal([r.bad]);
        return;
      }
      expect(problems).to.deep.equal([]);
      expect(config).to.deep.equal({ nameservers: r.ns ?? [], searches: r.search ?? [], options: r.options ?? [] });
    });
  }
});

describe('resolv.conf: file layout', () => {
  it('search, then one nameserver line each, then options; empty parts are left out', () => {
    expect(formatResolvConf({ nameservers: ['a', 'b'], searches: ['x', 'y'], options: ['o'] })).to.equal('search x y\nnameserver a\nnameserver b\noptions o\n');
    expect(formatResolvConf({ nameservers: ['a'], searches: [], options: [] })).to.equal('nameserver a\n');
  });
});
