import { expect } from 'chai';
import { planAutopath } from '../../src/dns/handlers/autopath/plan.js';
import { keyToName, nameToKey } from '../../src/dns/names.js';

// When autopath walks, decided from the name and the registry only (see the autopath README).
describe('autopath: when a query is walked', () => {
  // The registry: namespaces default, shop and dev; Services web.shop and db.default.
  const names = new Set(['default.svc.cluster.local', 'shop.svc.cluster.local', 'dev.svc.cluster.local', 'web.shop.svc.cluster.local', 'db.default.svc.cluster.local'].map(nameToKey));
  const apexKey = nameToKey('cluster.local');
  const hostSearch = ['node.example.org', 'cluster.local'].map(nameToKey);
  const plan = (name: string, opts: { dnssec?: boolean; continuation?: string[]; hostSearch?: string[] } = {}) =>
    planAutopath({
      key: nameToKey(name),
      apexKey,
      has: (k) => names.has(k),
      hostSearch: opts.hostSearch?.map(nameToKey) ?? hostSearch,
      dnssec: opts.dnssec ?? false,
      isContinuation: (k) => (opts.continuation ?? []).map(nameToKey).includes(k),
    });

  const rows: Array<{ name: string; dnssec?: boolean; continuation?: string[]; hostSearch?: string[]; walk?: string[]; skip?: string }> = [
    {
      name: 'api.example.com.default.svc.cluster.local',
      walk: ['api.example.com.svc.cluster.local.', 'api.example.com.cluster.local.', 'api.example.com.node.example.org.', 'api.example.com.'],
    },
    { name: 'web.shop.default.svc.cluster.local', walk: ['web.shop.svc.cluster.local.', 'web.shop.cluster.local.', 'web.shop.node.example.org.', 'web.shop.'] },
    {
      name: 'web.shop.svc.cluster.local.default.svc.cluster.local',
      walk: ['web.shop.svc.cluster.local.svc.cluster.local.', 'web.shop.svc.cluster.local.cluster.local.', 'web.shop.svc.cluster.local.node.example.org.', 'web.shop.svc.cluster.local.'],
    },
    { name: 'nosuch.default.svc.cluster.local', skip: 'single-label' },
    { name: 'db-0.db.default.svc.cluster.local', skip: 'endpoint-name' },
    { name: 'api.example.com.nosuchns.svc.cluster.local', skip: 'namespace' },
    { name: 'api.example.com.default.svc.cluster.local', dnssec: true, skip: 'dnssec' },
    { name: 'web.example.dev.svc.cluster.local', continuation: ['web.example.dev.svc.cluster.local'], skip: 'continuation' },
    { name: `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(39)}.default.svc.cluster.local`, hostSearch: ['nodes.a-rather-long-search-domain.example.org'], skip: 'too-long' },
    { name: 'default.svc.cluster.local', skip: 'shape' },
    { name: 'svc.cluster.local', skip: 'shape' },
    { name: 'api.example.com.cluster.local', skip: 'shape' },
    { name: 'api.example.com', skip: 'shape' },
  ];
  for (const r of rows) {
    it(`${r.name}${r.dnssec ? ' (DO)' : ''}${r.continuation ? ' (asked next by this client)' : ''}: ${r.walk ? 'walks' : `no (${r.skip})`}`, () => {
      const p = plan(r.name, r);
      if (r.walk) {
        expect(p.walk).to.equal(true);
        if (p.walk) expect(p.candidates.map(keyToName)).to.deep.equal(r.walk);
      } else {
        expect(p.walk).to.equal(false);
        if (!p.walk) expect(p.reason).to.equal(r.skip);
      }
    });
  }

  const continuations: Array<[string, string[]]> = [
    ['web.example.dev.default.svc.cluster.local', ['web.example.dev.svc.cluster.local.']],
    ['a.b.default.svc.default.svc.cluster.local', ['a.b.default.svc.cluster.local.']],
    ['api.example.com.default.svc.cluster.local', []],
    ['nosuch.default.svc.cluster.local', []],
  ];
  for (const [name, next] of continuations) {
    it(`remembers for ${name}: ${next.join(', ') || 'nothing'} (names a kubelet client asks next that autopath could walk)`, () => {
      const p = plan(name);
      expect(p.walk === false && p.reason === 'shape').to.equal(false);
      if (p.walk || p.reason !== 'shape') expect(p.continuation.map(keyToName)).to.deep.equal(next);
    });
  }
});
