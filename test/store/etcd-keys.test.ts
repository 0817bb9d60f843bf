import { expect } from 'chai';
import { defaultSettings } from '../../src/registry/settings.js';
import { parseEtcdUrls } from '../../src/store/etcd/client.js';
import { decodeObject, decodeSettings, stableUid, type Kv } from '../../src/store/etcd/decode.js';
import { KeyLayout, normalizePrefix, type ParsedKey } from '../../src/store/etcd/keys.js';

describe('etcd key layout', () => {
  const keys = new KeyLayout('/svcdns');
  const rows: Array<{ key: string; want: ParsedKey | null }> = [
    { key: '/svcdns/zones/cluster.local', want: { type: 'zone', zone: 'cluster.local' } },
    { key: '/svcdns/registry/cluster.local/services/shop/web', want: { type: 'object', zone: 'cluster.local', key: { kind: 'Service', namespace: 'shop', name: 'web' } } },
    { key: '/svcdns/registry/cluster.local/endpointslices/shop/web-x1', want: { type: 'object', zone: 'cluster.local', key: { kind: 'EndpointSlice', namespace: 'shop', name: 'web-x1' } } },
    { key: '/svcdns/registry/cluster.local/endpoints/shop/web', want: { type: 'object', zone: 'cluster.local', key: { kind: 'Endpoints', namespace: 'shop', name: 'web' } } },
    { key: '/svcdns/registry/cluster.local/namespaces/shop', want: { type: 'object', zone: 'cluster.local', key: { kind: 'Namespace', namespace: '', name: 'shop' } } },
    { key: '/svcdns/registry/cluster.local/namespaces/shop/extra', want: null },
    { key: '/svcdns/registry/cluster.local/services/shop', want: null },
    { key: '/svcdns/registry/cluster.local/services/shop/web/x', want: null },
    { key: '/svcdns/registry/cluster.local/configmaps/shop/x', want: null },
    { key: '/svcdns/zones/', want: null },
    { key: '/svcdns/zones/a/b', want: null },
    { key: '/svcdns/allocations/cluster.local/clusterip/10.96.0.10', want: null },
    { key: '/svcdns2/zones/cluster.local', want: null },
  ];
  for (const r of rows) {
    it(`${r.key} is ${r.want ? r.want.type : 'not ours'}`, () => {
      expect(keys.parse(r.key)).to.deep.equal(r.want);
      if (r.want?.type === 'object') expect(keys.object(r.want.zone, r.want.key)).to.equal(r.key);
      if (r.want?.type === 'zone') expect(keys.zone(r.want.zone)).to.equal(r.key);
    });
  }
  for (const [given, want] of [['/svcdns', '/svcdns'], ['svcdns/', '/svcdns'], ['/a/b//', '/a/b'], ['/', ''], ['', '']] as const) {
    it(`prefix ${JSON.stringify(given)} is ${JSON.stringify(want)}`, () => expect(normalizePrefix(given)).to.equal(want));
  }
});

describe('etcd --etcd URLs', () => {
  const rows: Array<{ value: string; ok?: string[]; error?: RegExp }> = [
    { value: 'http://127.0.0.1:2379', ok: ['http://127.0.0.1:2379'] },
    { value: 'http://a:2379, https://b:2379,', ok: ['http://a:2379', 'https://b:2379'] },
    { value: 'localhost:2379', error: /^expected an http:\/\/ or https:\/\/ etcd client URL/ },
    { value: 'http://127.0.0.1', error: /^expected scheme:\/\/host:port/ },
    { value: 'http://127.0.0.1:2379/v3', error: /^expected scheme:\/\/host:port and nothing more/ },
    { value: 'http://a:1,nope', error: /^nope: not a URL/ },
    { value: ' , ', error: /^expected one or more etcd client URLs/ },
  ];
  for (const r of rows) {
    it(`${JSON.stringify(r.value)}: ${r.ok ? 'ok' : 'refused'}`, () => {
      const got = parseEtcdUrls(r.value);
      if (r.ok) expect(got).to.deep.equal({ ok: true, value: r.ok });
      else expect(got.ok ? '' : got.error).to.match(r.error!);
    });
  }
});

describe('etcd values', () => {
  const settings = defaultSettings('cluster.local');
  const kv = (value: unknown, key = '/svcdns/registry/cluster.local/services/shop/web'): Kv => ({
    key,
    value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    modRevision: 7,
    createRevision: 5,
    lease: '0',
  });
  const web = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec: { clusterIP: '10.96.0.10', ports: [{ port: 80 }] } };
  const key = { kind: 'Service', namespace: 'shop', name: 'web' } as const;
  const rows: Array<{ desc: string; value: unknown; error?: RegExp }> = [
    { desc: 'a valid Service', value: web },
    { desc: 'not JSON', value: '{oops', error: /^the value is not JSON/ },
    { desc: 'a port out of range', value: { ...web, spec: { ports: [{ port: 70000 }] } }, error: /^must be a port number between 1 and 65535, not 70000/ },
    { desc: 'another name than its key', value: { ...web, metadata: { name: 'api', namespace: 'shop' } }, error: /^the value is Service shop\/api but its key is for Service shop\/web/ },
    { desc: 'another namespace (none: default)', value: { ...web, metadata: { name: 'web' } }, error: /Service default\/web but its key is for Service shop\/web/ },
    { desc: 'a List', value: { apiVersion: 'v1', kind: 'List', items: [web] }, error: /^a key holds exactly one Service, not a List/ },
    { desc: 'a ConfigMap', value: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web' } }, error: /^a key holds exactly one Service, not a ConfigMap/ },
  ];
  for (const r of rows) {
    it(`${r.desc}: ${r.error ? 'refused, located at its key' : 'accepted'}`, () => {
      const got = decodeObject(kv(r.value), 'cluster.local', key, settings);
      if (!r.error) {
        expect(got.ok).to.equal(true);
        if (!got.ok) return;
        expect(got.value.revision).to.equal(7);
        expect(got.value.object.metadata).to.include({ resourceVersion: '7', namespace: 'shop', uid: stableUid('/svcdns/registry/cluster.local/services/shop/web', 5) });
        return;
      }
      expect(got.ok).to.equal(false);
      if (got.ok) return;
      expect(got.error[0]?.file).to.equal('/svcdns/registry/cluster.local/services/shop/web');
      expect(got.error[0]?.message).to.match(r.error);
    });
  }

  it('a stable uid: a UUID that changes with the create revision only', () => {
    expect(stableUid('/k', 5)).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/).and.equal(stableUid('/k', 5));
    expect(stableUid('/k', 6)).to.not.equal(stableUid('/k', 5));
  });

  for (const [value, want] of [
    ['', { ttl: 5 }],
    ['{}', { ttl: 5 }],
    ['{"ttl": 30}', { ttl: 30 }],
    ['ttl: 60', { ttl: 60 }],
  ] as const) {
    it(`zone settings ${JSON.stringify(value)}`, () => {
      const got = decodeSettings('/svcdns/zones/cluster.local', 'cluster.local', Buffer.from(value));
      expect(got.problems).to.deep.equal([]);
      expect(got.settings).to.include(want);
    });
  }
  it('zone settings with a problem name the key and the field', () => {
    const got = decodeSettings('/svcdns/zones/cluster.local', 'cluster.local', Buffer.from('{"ttl": -1, "colour": 1}'));
    expect(got.problems.map((p) => `${p.file}: ${p.path}`)).to.deep.equal(['/svcdns/zones/cluster.local: colour', '/svcdns/zones/cluster.local: ttl']);
  });
});
