import { expect } from 'chai';
import { applyConfiguration, appliedAnnotation } from '../../src/api/apply.js';
import { jsonPatch, mergePatch, PATCH_SCHEMAS, strategicMerge } from '../../src/api/patch.js';

const svc = (ports: unknown[], extra: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', labels: { app: 'web' } }, spec: { ports, ...extra } });
const p = (port: number, name?: string) => ({ ...(name ? { name } : {}), port, protocol: 'TCP', targetPort: port });

describe('api/patch: JSON merge patch (RFC 7386)', () => {
  const rows: Array<{ desc: string; target: unknown; patch: unknown; want: unknown }> = [
    { desc: 'adds and replaces fields', target: { a: 1, b: { c: 2 } }, patch: { b: { d: 3 }, e: 4 }, want: { a: 1, b: { c: 2, d: 3 }, e: 4 } },
    { desc: 'null deletes', target: { a: 1, b: { c: 2 } }, patch: { b: { c: null } }, want: { a: 1, b: {} } },
    { desc: 'lists are replaced whole', target: { l: [1, 2, 3] }, patch: { l: [4] }, want: { l: [4] } },
    { desc: 'kubectl label', target: svc([p(80)]), patch: { metadata: { labels: { tier: 'front' } } }, want: { ...svc([p(80)]), metadata: { name: 'web', labels: { app: 'web', tier: 'front' } } } },
    { desc: 'a non-object patch replaces the document', target: { a: 1 }, patch: [1], want: [1] },
  ];
  for (const r of rows) it(r.desc, () => expect(mergePatch(r.target, r.patch)).to.deep.equal(r.want));
});

describe('api/patch: strategic merge patch (the subset kubectl sends)', () => {
  const rows: Array<{ desc: string; kind?: 'Service' | 'EndpointSlice'; original: unknown; patch: unknown; want?: unknown; error?: RegExp }> = [
    {
      desc: 'the body kubectl apply sends: ports merged by port, $setElementOrder applied, $patch delete removes 443',
      original: svc([p(80, 'http'), p(443, 'https')]),
      patch: { spec: { '$setElementOrder/ports': [{ port: 80 }, { port: 9100 }], ports: [{ name: 'metrics', port: 9100 }, { $patch: 'delete', port: 443 }] } },
      want: svc([p(80, 'http'), { name: 'metrics', port: 9100 }]),
    },
    {
      desc: 'an item merges into the one with the same port',
      original: svc([p(80, 'http')]),
      patch: { spec: { ports: [{ port: 80, targetPort: 8080 }] } },
      want: svc([{ ...p(80, 'http'), targetPort: 8080 }]),
    },
    {
      desc: '$setElementOrder alone reorders',
      original: svc([p(80, 'a'), p(443, 'b')]),
      patch: { spec: { '$setElementOrder/ports': [{ port: 443 }, { port: 80 }] } },
      want: svc([p(443, 'b'), p(80, 'a')]),
    },
    {
      desc: 'a list item {$patch: replace} replaces the list',
      original: svc([p(80, 'a'), p(443, 'b')]),
      patch: { spec: { ports: [{ $patch: 'replace' }, { port: 53, name: 'dns' }] } },
      want: svc([{ port: 53, name: 'dns' }]),
    },
    {
      desc: '$patch: replace on a map replaces the map',
      original: { metadata: { labels: { a: '1', b: '2' } } },
      patch: { metadata: { labels: { $patch: 'replace', c: '3' } } },
      want: { metadata: { labels: { c: '3' } } },
    },
    { desc: '$patch: delete on a map removes it', original: { metadata: { labels: { a: '1' } }, x: 1 }, patch: { metadata: { labels: { $patch: 'delete' } } }, want: { metadata: {}, x: 1 } },
    { desc: 'null deletes a field', original: svc([p(80)], { sessionAffinity: 'None' }), patch: { spec: { sessionAffinity: null } }, want: svc([p(80)]) },
    {
      desc: '$retainKeys drops the keys it does not list',
      original: { spec: { a: 1, b: 2, c: 3 } },
      patch: { spec: { $retainKeys: ['a', 'c'], c: 4 } },
      want: { spec: { a: 1, c: 4 } },
    },
    {
      desc: 'metadata.finalizers merge as a set; $deleteFromPrimitiveList removes',
      original: { metadata: { finalizers: ['a', 'b'] } },
      patch: { metadata: { finalizers: ['c'], '$deleteFromPrimitiveList/finalizers': ['a'] } },
      want: { metadata: { finalizers: ['b', 'c'] } },
    },
    {
      desc: 'EndpointSlice endpoints are atomic: the patch list replaces it',
      kind: 'EndpointSlice',
      original: { endpoints: [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.2'] }] },
      patch: { endpoints: [{ addresses: ['10.0.0.3'] }] },
      want: { endpoints: [{ addresses: ['10.0.0.3'] }] },
    },
    {
      desc: 'Service spec.externalIPs (no strategy) are replaced',
      original: svc([], { externalIPs: ['192.0.2.1', '192.0.2.2'] }),
      patch: { spec: { externalIPs: ['192.0.2.9'] } },
      want: svc([], { externalIPs: ['192.0.2.9'] }),
    },
    { desc: 'no $ key survives in new items', original: svc([]), patch: { spec: { ports: [{ port: 1, $foo: 1 }] } }, want: svc([{ port: 1 }]) },
    { desc: 'an unknown directive is an error', original: {}, patch: { $frobnicate: 1 }, error: /unknown patch directive/ },
    { desc: 'a merged list item without its key is an error', original: svc([p(80)]), patch: { spec: { ports: [{ name: 'x' }] } }, error: /merge key "port"/ },
  ];
  for (const r of rows) {
    it(r.desc, () => {
      const got = strategicMerge(r.original, r.patch, PATCH_SCHEMAS[r.kind ?? 'Service']);
      if (r.error) {
        expect(got.ok).to.equal(false);
        if (!got.ok) expect(got.error).to.match(r.error);
        return;
      }
      expect(got.ok, JSON.stringify(got)).to.equal(true);
      if (got.ok) {
        expect(got.value).to.deep.equal(r.want);
        expect(JSON.stringify(got.value)).to.not.match(/"\$/);
      }
    });
  }
});

describe('api/patch: JSON patch (RFC 6902)', () => {
  const doc = { spec: { ports: [{ port: 80 }, { port: 443 }], selector: { app: 'web' } }, metadata: { labels: { 'a/b': 'x' } } };
  const rows: Array<{ desc: string; ops: unknown; want?: unknown; error?: RegExp }> = [
    { desc: 'add appends with -', ops: [{ op: 'add', path: '/spec/ports/-', value: { port: 53 } }], want: { ...doc, spec: { ...doc.spec, ports: [{ port: 80 }, { port: 443 }, { port: 53 }] } } },
    { desc: 'add inserts at an index', ops: [{ op: 'add', path: '/spec/ports/0', value: { port: 1 } }], want: { ...doc, spec: { ...doc.spec, ports: [{ port: 1 }, { port: 80 }, { port: 443 }] } } },
    { desc: 'remove', ops: [{ op: 'remove', path: '/spec/ports/1' }], want: { ...doc, spec: { ...doc.spec, ports: [{ port: 80 }] } } },
    { desc: 'replace with an escaped pointer (~1 is /)', ops: [{ op: 'replace', path: '/metadata/labels/a~1b', value: 'y' }], want: { ...doc, metadata: { labels: { 'a/b': 'y' } } } },
    { desc: 'move', ops: [{ op: 'move', from: '/spec/selector', path: '/spec/sel' }], want: { ...doc, spec: { ports: doc.spec.ports, sel: { app: 'web' } } } },
    { desc: 'copy', ops: [{ op: 'copy', from: '/spec/ports/0', path: '/spec/first' }], want: { ...doc, spec: { ...doc.spec, first: { port: 80 } } } },
    { desc: 'a passing test changes nothing', ops: [{ op: 'test', path: '/spec/ports/0/port', value: 80 }], want: doc },
    { desc: 'a failing test fails the whole patch', ops: [{ op: 'add', path: '/x', value: 1 }, { op: 'test', path: '/spec/ports/0/port', value: 81 }], error: /test failed/ },
    { desc: 'replace of a missing path', ops: [{ op: 'replace', path: '/nope', value: 1 }], error: /does not exist/ },
    { desc: 'remove out of bounds', ops: [{ op: 'remove', path: '/spec/ports/5' }], error: /does not exist/ },
    { desc: 'not a list', ops: { op: 'add' }, error: /list of operations/ },
  ];
  for (const r of rows) {
    it(r.desc, () => {
      const got = jsonPatch(doc, r.ops);
      if (r.error) return expect(got.ok ? 'ok' : got.error).to.match(r.error);
      expect(got.ok ? got.value : got.error).to.deep.equal(r.want);
    });
  }
  it('leaves the original untouched', () => {
    const before = JSON.stringify(doc);
    jsonPatch(doc, [{ op: 'remove', path: '/spec' }]);
    expect(JSON.stringify(doc)).to.equal(before);
  });
});

describe('api/apply: server-side apply as create-or-merge', () => {
  const note = (o: unknown) => ((o as { metadata: { annotations: Record<string, string> } }).metadata.annotations['applied.svcdns.io/kubectl'] ?? '');
  it('creates from the manifest when there is no object, recording what was applied', () => {
    const r = applyConfiguration(undefined, svc([p(80)]), PATCH_SCHEMAS.Service, 'kubectl');
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect(JSON.parse(note(r.value))).to.deep.equal(svc([p(80)]));
    expect({ ...r.value, metadata: { name: 'web', labels: { app: 'web' } } }).to.deep.equal(svc([p(80)]));
  });
  it('removes what the same manager applied before and left out now (a renumbered port, a label)', () => {
    const first = applyConfiguration(undefined, svc([p(80, 'http')]), PATCH_SCHEMAS.Service, 'kubectl');
    if (!first.ok) throw new Error(first.error);
    const current = { ...first.value, spec: { ...(first.value.spec as object), clusterIP: '10.96.0.5' } };
    const next = { ...svc([{ name: 'http', port: 8080 }]), metadata: { name: 'web' } };
    const r = applyConfiguration(current, next, PATCH_SCHEMAS.Service, 'kubectl');
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect((r.value.spec as Record<string, unknown>).ports).to.deep.equal([{ name: 'http', port: 8080 }]);
    expect((r.value.spec as Record<string, unknown>).clusterIP).to.equal('10.96.0.5'); // not the manager's: kept
    expect((r.value.metadata as Record<string, unknown>).labels).to.equal(undefined);
  });
  it('manager names become annotation keys', () => {
    expect(['kubectl', 'kubectl-client-side-apply', 'my tool/v1', '---'].map(appliedAnnotation)).to.deep.equal(['applied.svcdns.io/kubectl', 'applied.svcdns.io/kubectl-client-side-apply', 'applied.svcdns.io/my-tool-v1', 'applied.svcdns.io/manager']);
  });
  it('merges into the current object: server-set fields stay, ports merge by port', () => {
    const current = { ...svc([p(80, 'http')], { clusterIP: '10.96.0.5' }), metadata: { name: 'web', uid: 'u1', labels: { app: 'web' } } };
    const r = applyConfiguration(current, svc([{ name: 'http', port: 80, targetPort: 8080 }, { name: 'https', port: 443 }]), PATCH_SCHEMAS.Service);
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect((r.value.metadata as Record<string, unknown>).uid).to.equal('u1');
    expect((r.value.spec as Record<string, unknown>).clusterIP).to.equal('10.96.0.5');
    expect((r.value.spec as Record<string, unknown>).ports).to.deep.equal([{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }, { name: 'https', port: 443 }]);
  });
});
