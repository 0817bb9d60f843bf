import { expect } from 'chai';
import { RESOURCES, type ResourceDef } from '../../src/api/resources.js';
import { humanDuration, toTable } from '../../src/api/tables.js';

const def = (name: string) => RESOURCES.find((r) => r.name === name) as ResourceDef;
const NOW = Date.parse('2024-05-01T12:00:00Z');
const meta = (name: string, ns = 'shop') => ({ name, namespace: ns, creationTimestamp: '2024-05-01T11:55:00Z', labels: { app: name } });
type Row = { cells: unknown[]; object?: { kind: string; metadata: { namespace?: string } } };

describe('api/tables: ages as kubectl prints them', () => {
  const rows: Array<[number, string]> = [
    [0, '0s'], [-1500, '0s'], [-5000, '<invalid>'], [59_000, '59s'], [119_000, '119s'], [120_000, '2m'], [310_000, '5m10s'], [600_000, '10m'],
    [179 * 60_000, '179m'], [3 * 3600_000, '3h'], [3 * 3600_000 + 5 * 60_000, '3h5m'], [8 * 3600_000, '8h'], [47 * 3600_000, '47h'],
    [50 * 3600_000, '2d2h'], [8 * 86400_000, '8d'], [800 * 86400_000, '2y70d'], [9 * 365 * 86400_000, '9y'],
  ];
  for (const [ms, want] of rows) it(`${ms} ms: ${want}`, () => expect(humanDuration(ms)).to.equal(want));
});

describe('api/tables: rows', () => {
  const services: Array<{ desc: string; spec: Record<string, unknown>; status?: Record<string, unknown>; cells: unknown[] }> = [
    { desc: 'ClusterIP', spec: { type: 'ClusterIP', clusterIP: '10.96.0.5', clusterIPs: ['10.96.0.5'], ports: [{ port: 80, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }], selector: { b: '2', a: '1' } }, cells: ['ClusterIP', '10.96.0.5', '<none>', '80/TCP,53/UDP', '5m', 'a=1,b=2'] },
    { desc: 'NodePort', spec: { type: 'NodePort', clusterIPs: ['10.96.0.6'], ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }] }, cells: ['NodePort', '10.96.0.6', '<none>', '80:30080/TCP', '5m', '<none>'] },
    { desc: 'LoadBalancer pending', spec: { type: 'LoadBalancer', clusterIPs: ['10.96.0.7'], ports: [] }, cells: ['LoadBalancer', '10.96.0.7', '<pending>', '<none>', '5m', '<none>'] },
    { desc: 'LoadBalancer with an ingress IP', spec: { type: 'LoadBalancer', clusterIPs: ['10.96.0.7'] }, status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } }, cells: ['LoadBalancer', '10.96.0.7', '192.0.2.1', '<none>', '5m', '<none>'] },
    { desc: 'headless', spec: { type: 'ClusterIP', clusterIP: 'None', clusterIPs: ['None'] }, cells: ['ClusterIP', 'None', '<none>', '<none>', '5m', '<none>'] },
    { desc: 'ExternalName', spec: { type: 'ExternalName', externalName: 'www.example.org' }, cells: ['ExternalName', '<none>', 'www.example.org', '<none>', '5m', '<none>'] },
  ];
  for (const r of services) {
    it(`service, ${r.desc}: ${r.cells.join(' | ')}`, () => {
      const t = toTable(def('services'), [{ metadata: meta('web'), spec: r.spec, ...(r.status ? { status: r.status } : {}) }], { now: NOW, resourceVersion: '9', includeObject: 'Metadata', metaVersion: 'v1' });
      const row = (t.rows as Row[])[0]!;
      expect(row.cells).to.deep.equal(['web', ...r.cells]);
      // kubectl fills NAMESPACE (-A) and --show-labels from the row's object.
      expect(row.object?.kind).to.equal('PartialObjectMetadata');
      expect(row.object?.metadata.namespace).to.equal('shop');
    });
  }
  it('service columns: Selector only with -o wide (priority 1)', () => {
    const t = toTable(def('services'), [], { now: NOW, resourceVersion: '1', includeObject: 'None', metaVersion: 'v1' });
    expect((t.columnDefinitions as Array<{ name: string; priority: number }>).map((c) => `${c.name}:${c.priority}`)).to.deep.equal(['Name:0', 'Type:0', 'Cluster-IP:0', 'External-IP:0', 'Port(s):0', 'Age:0', 'Selector:1']);
    expect(t.metadata).to.deep.equal({ resourceVersion: '1' });
  });
  it('endpointslice: ADDRESSTYPE PORTS ENDPOINTS, "+ N more..." past three', () => {
    const slice = { metadata: meta('web-1'), addressType: 'IPv4', ports: [{ port: 8080 }, { name: 'x' }], endpoints: [{ addresses: ['10.0.0.1', '10.0.0.2'] }, { addresses: ['10.0.0.3'] }, { addresses: ['10.0.0.4'] }, { addresses: ['10.0.0.5'] }] };
    const t = toTable(def('endpointslices'), [slice, { metadata: meta('empty'), addressType: 'IPv6' }], { now: NOW, resourceVersion: '1', includeObject: 'Metadata', metaVersion: 'v1' });
    expect((t.rows as Row[]).map((r) => r.cells)).to.deep.equal([
      ['web-1', 'IPv4', '8080,x', '10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...', '5m'],
      ['empty', 'IPv6', '<unset>', '<unset>', '5m'],
    ]);
  });
  it('endpoints: ip:port pairs', () => {
    const ep = { metadata: meta('web'), subsets: [{ addresses: [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }], ports: [{ port: 8080 }] }] };
    const t = toTable(def('endpoints'), [ep, { metadata: meta('none') }], { now: NOW, resourceVersion: '1', includeObject: 'Metadata', metaVersion: 'v1' });
    expect((t.rows as Row[]).map((r) => r.cells)).to.deep.equal([['web', '10.0.0.1:8080,[fd00::1]:8080', '5m'], ['none', '<none>', '5m']]);
  });
  it('namespaces: NAME STATUS AGE', () => {
    const t = toTable(def('namespaces'), [{ metadata: { name: 'shop', creationTimestamp: '2024-05-01T09:00:00Z' }, status: { phase: 'Active' } }], { now: NOW, resourceVersion: '1', includeObject: 'Object', metaVersion: 'v1beta1' });
    expect((t.rows as Row[])[0]!.cells).to.deep.equal(['shop', 'Active', '3h']);
    expect(t.apiVersion).to.equal('meta.k8s.io/v1beta1');
  });
});
