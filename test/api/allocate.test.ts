import { expect } from 'chai';
import { allocateIP, allocatePort, AllocationIndex, checkIP, checkPort } from '../../src/api/allocate.js';
import { parseCidr, type Cidr } from '../../src/net/ip.js';
import { ObjectCache } from '../../src/store/cache.js';
import type { KubeObject, StoredObject } from '../../src/store/types.js';

const cidr = (s: string) => parseCidr(s) as Cidr;
const none = () => false;
const first = () => 0;

describe('api/allocate: a requested cluster IP', () => {
  const cidrs = [cidr('10.96.0.0/12'), cidr('2001:db8::/112')];
  const taken = (ip: string) => ip === '10.96.0.5';
  const rows: Array<{ ip: string; want: string }> = [
    { ip: '10.96.0.20', want: 'ok 10.96.0.20' },
    { ip: '10.96.0.5', want: 'provided IP is already allocated' },
    { ip: '10.95.0.1', want: 'the provided IP (10.95.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12' },
    { ip: '10.96.0.0', want: 'the provided IP (10.96.0.0) is not in the valid range. The range of valid IPs is 10.96.0.0/12' },
    { ip: '10.111.255.255', want: 'the provided IP (10.111.255.255) is not in the valid range. The range of valid IPs is 10.96.0.0/12' },
    { ip: '10.111.255.254', want: 'ok 10.111.255.254' },
    { ip: '2001:db8::a', want: 'ok 2001:db8::a' },
    { ip: '2001:db8:0:0:0:0:0:b', want: 'ok 2001:db8::b' },
    { ip: '2001:db9::1', want: 'the provided IP (2001:db9::1) is not in the valid range. The range of valid IPs is 2001:db8::/112' },
  ];
  for (const r of rows) {
    it(`${r.ip}: ${r.want}`, () => {
      const got = checkIP(r.ip, cidrs, taken);
      expect(got.ok ? `ok ${got.value}` : got.error).to.equal(r.want);
    });
  }
});

describe('api/allocate: dynamic cluster IPs', () => {
  it('come from above the static band first (KEP-3070): a /24 keeps .1-.16 for hand-picked addresses', () => {
    expect(allocateIP(cidr('192.0.2.0/24'), none, first)).to.equal('192.0.2.17');
  });
  it('skip taken and reserved addresses', () => {
    const taken = new Set(['192.0.2.17', '192.0.2.18']);
    expect(allocateIP(cidr('192.0.2.0/24'), (ip) => taken.has(ip), first, new Set(['192.0.2.19']))).to.equal('192.0.2.20');
  });
  it('never hand out the network or broadcast address, and use the static band when the rest is full', () => {
    const range = cidr('192.0.2.0/29'); // .1-.6 usable; small ranges have no static band
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const ip = allocateIP(range, (x) => seen.has(x), Math.random);
      expect(ip).to.not.equal(null);
      seen.add(ip!);
    }
    expect([...seen].sort()).to.deep.equal(['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5', '192.0.2.6']);
    expect(allocateIP(range, (x) => seen.has(x), Math.random)).to.equal(null);
  });
  it('work for IPv6', () => {
    const ip = allocateIP(cidr('2001:db8::/64'), none, () => 0.5);
    expect(ip).to.match(/^2001:db8::/);
  });
});

describe('api/allocate: node ports', () => {
  const range = [30000, 32767] as const;
  const rows: Array<{ port: number; taken?: number[]; want?: string }> = [
    { port: 30080 },
    { port: 80, want: 'provided port is not in the valid range. The range of valid ports is 30000-32767' },
    { port: 32768, want: 'provided port is not in the valid range. The range of valid ports is 30000-32767' },
    { port: 30080, taken: [30080], want: 'provided port is already allocated' },
  ];
  for (const r of rows) {
    it(`${r.port}${r.taken ? ' (taken)' : ''}: ${r.want ?? 'ok'}`, () => {
      expect(checkPort(r.port, range, (p) => (r.taken ?? []).includes(p))).to.equal(r.want);
    });
  }
  it('dynamic ones come from above the static band (86 ports for the default range)', () => {
    expect(allocatePort(range, none, first)).to.equal(30086);
  });
  it('are all handed out, then the range is full', () => {
    const small = [31000, 31009] as const;
    const seen = new Set<number>();
    for (let i = 0; i < 10; i++) seen.add(allocatePort(small, (p) => seen.has(p), Math.random)!);
    expect(seen.size).to.equal(10);
    expect(allocatePort(small, (p) => seen.has(p), Math.random)).to.equal(null);
  });
});

describe('api/allocate: the index of what Services hold', () => {
  const svc = (ns: string, name: string, spec: Record<string, unknown>, revision: number, zone = 'cluster.local'): StoredObject => ({
    key: { kind: 'Service', namespace: ns, name },
    zone,
    revision,
    origin: {},
    object: { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec } as KubeObject,
  });
  it('follows the cache: files and API objects, updates and deletes, one zone only', () => {
    const cache = new ObjectCache();
    cache.reset([svc('a', 'one', { clusterIP: '10.96.0.1', type: 'NodePort', ports: [{ port: 80, nodePort: 30001 }] }, 1), svc('a', 'other', { clusterIP: '10.96.0.2' }, 1, 'example.org')], 1);
    const index = new AllocationIndex(cache, 'cluster.local');
    expect(index.ipTaken('10.96.0.1')).to.equal(true);
    expect(index.ipTaken('10.96.0.1', 'a/one')).to.equal(false); // its own address
    expect(index.ipTaken('10.96.0.2')).to.equal(false); // another zone
    expect(index.portTaken(30001)).to.equal(true);
    cache.apply([{ type: 'MODIFIED', object: svc('a', 'one', { clusterIP: '10.96.0.1', ports: [{ port: 80 }] }, 2) }]);
    expect(index.portTaken(30001)).to.equal(false);
    cache.apply([{ type: 'ADDED', object: svc('b', 'two', { clusterIPs: ['10.96.0.3', '2001:db8::3'], healthCheckNodePort: 30002 }, 3) }]);
    expect(index.ipTaken('2001:db8::3')).to.equal(true);
    expect(index.portTaken(30002)).to.equal(true);
    cache.apply([{ type: 'DELETED', object: svc('a', 'one', { clusterIP: '10.96.0.1' }, 4) }]);
    expect(index.ipTaken('10.96.0.1')).to.equal(false);
    expect(AllocationIndex.families([cidr('10.96.0.0/12'), cidr('2001:db8::/112')])).to.deep.equal(['IPv4', 'IPv6']);
  });
});
