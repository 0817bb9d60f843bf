import { expect } from 'chai';
import jsyaml from 'js-yaml';
import type { RegistryObject } from '../../src/registry/model.js';
import { convertDocument } from '../../src/registry/sources/convert.js';
import { formatPath } from '../../src/registry/sources/fields.js';

const ctx = { nodePortRange: [30000, 32767] as const };
const svc = (spec: string, meta = 'name: web\n  namespace: shop') => `apiVersion: v1\nkind: Service\nmetadata:\n  ${meta}\nspec:\n${spec}`;

// Each row: a YAML document, then either the objects it gives (checked by a projection) or the
// problems (field path and a fragment of the message).
const rows: Array<{ desc: string; yaml: string; objects?: unknown[]; problems?: Array<[string, string]>; ignored?: string[] }> = [
  {
    desc: 'API defaults: type ClusterIP, protocol TCP, namespace default',
    yaml: svc('  clusterIP: 10.96.0.5\n  ports: [{port: 80}]', 'name: web'),
    objects: [{ kind: 'Service', namespace: 'default', name: 'web', type: 'ClusterIP', clusterIPs: ['10.96.0.5'], ports: [{ name: '', port: 80, protocol: 'TCP' }] }],
  },
  {
    desc: 'dual-stack from clusterIPs, IPv6 canonicalized',
    yaml: svc('  clusterIP: "fd00:10:96:0::a"\n  clusterIPs: ["fd00:10:96:0::a", 10.96.0.5]\n  ports: [{name: http, port: 80}]'),
    objects: [{ kind: 'Service', namespace: 'shop', name: 'web', type: 'ClusterIP', clusterIPs: ['fd00:10:96::a', '10.96.0.5'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }],
  },
  { desc: 'headless', yaml: svc('  clusterIP: None'), objects: [{ kind: 'Service', namespace: 'shop', name: 'web', type: 'ClusterIP', clusterIPs: [], ports: [] }] },
  {
    desc: 'ExternalName keeps its target without the trailing dot',
    yaml: svc('  type: ExternalName\n  externalName: API.Example.org.'),
    objects: [{ kind: 'Service', namespace: 'shop', name: 'web', type: 'ExternalName', clusterIPs: [], ports: [], externalName: 'api.example.org' }],
  },
  { desc: 'port 70000', yaml: svc('  clusterIP: 10.96.0.5\n  ports: [{name: http, port: 70000}]'), problems: [['spec.ports[0].port', 'between 1 and 65535']] },
  { desc: 'port as a string', yaml: svc('  clusterIP: 10.96.0.5\n  ports: [{name: http, port: "80"}]'), problems: [['spec.ports[0].port', 'port number']] },
  { desc: 'bad protocol', yaml: svc('  ports: [{port: 80, protocol: tcp}]'), problems: [['spec.ports[0].protocol', 'TCP, UDP or SCTP']] },
  { desc: 'invalid ClusterIP', yaml: svc('  clusterIP: 10.96.0.500'), problems: [['spec.clusterIP', 'valid IP address']] },
  { desc: 'clusterIPs disagree with clusterIP', yaml: svc('  clusterIP: 10.96.0.5\n  clusterIPs: [10.96.0.6]'), problems: [['spec.clusterIPs[0]', 'must match spec.clusterIP']] },
  { desc: 'two IPv4 clusterIPs', yaml: svc('  clusterIPs: [10.96.0.5, 10.96.0.6]'), problems: [['spec.clusterIPs[1]', 'second IPv4']] },
  { desc: 'Service name that is not a DNS-1035 label', yaml: svc('  clusterIP: None', 'name: 1web\n  namespace: shop'), problems: [['metadata.name', 'DNS-1035 label']] },
  { desc: 'upper-case namespace', yaml: svc('  clusterIP: None', 'name: web\n  namespace: Shop'), problems: [['metadata.namespace', 'DNS-1123 label']] },
  { desc: 'two unnamed ports', yaml: svc('  ports: [{port: 80}, {port: 81}]'), problems: [['spec.ports[0].name', 'more than one port'], ['spec.ports[1].name', 'more than one port']] },
  { desc: 'port name not a DNS-1123 label', yaml: svc('  ports: [{name: Http_Port, port: 80}]'), problems: [['spec.ports[0].name', 'DNS-1123 label']] },
  { desc: 'port names kubectl create service makes ("80-8080") are valid', yaml: svc('  ports: [{name: 80-8080, port: 80}, {name: "443", port: 443}]'), problems: [] },
  { desc: 'duplicate port names', yaml: svc('  ports: [{name: http, port: 80}, {name: http, port: 81}]'), problems: [['spec.ports[1].name', 'used by another port']] },
  { desc: 'nodePort out of the range', yaml: svc('  type: NodePort\n  ports: [{name: http, port: 80, nodePort: 8080}]'), problems: [['spec.ports[0].nodePort', 'outside the zone\'s NodePort range']] },
  { desc: 'ExternalName without a target', yaml: svc('  type: ExternalName'), problems: [['spec.externalName', 'is required']] },
  { desc: 'unknown type', yaml: svc('  type: Magic'), problems: [['spec.type', 'must be one of']] },
  { desc: 'unused fields are kept, not rejected', yaml: svc('  clusterIP: None\n  sessionAffinity: ClientIP\n  futureField: {x: 1}'), objects: [{ kind: 'Service', namespace: 'shop', name: 'web', type: 'ClusterIP', clusterIPs: [], ports: [] }] },
  {
    desc: 'EndpointSlice: readiness, hostname, pod name, ports',
    yaml: 'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}\naddressType: IPv4\nports: [{name: http, port: 8080}]\nendpoints:\n- {addresses: [10.0.0.1], hostname: web-0, targetRef: {kind: Pod, name: web-0}}\n- {addresses: [10.0.0.2], conditions: {ready: false}}',
    objects: [{ kind: 'EndpointSlice', namespace: 'shop', name: 'web-1', serviceName: 'web', endpoints: [{ addresses: ['10.0.0.1'], ready: true, hostname: 'web-0', podName: 'web-0' }, { addresses: ['10.0.0.2'], ready: false }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }],
  },
  { desc: 'EndpointSlice address of the wrong family', yaml: 'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\naddressType: IPv6\nendpoints: [{addresses: [10.0.0.1]}]', problems: [['endpoints[0].addresses[0]', 'not an IPv6 address']] },
  { desc: 'EndpointSlice without addressType', yaml: 'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\nendpoints: []', problems: [['addressType', 'IPv4, IPv6 or FQDN']] },
  { desc: 'Endpoints with a bad address', yaml: 'apiVersion: v1\nkind: Endpoints\nmetadata: {name: web}\nsubsets: [{addresses: [{ip: nope}]}]', problems: [['subsets[0].addresses[0].ip', 'valid IP address']] },
  { desc: 'Service with the wrong apiVersion', yaml: 'apiVersion: apps/v1\nkind: Service\nmetadata: {name: web}', problems: [['apiVersion', 'must have apiVersion v1']] },
  { desc: 'not a Kubernetes object', yaml: 'hello: world', problems: [['', 'is not a Kubernetes object']] },
  { desc: 'a list as a document', yaml: '- a\n- b', problems: [['', 'must be an object']] },
  { desc: 'other kinds are ignored', yaml: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}', objects: [], ignored: ['Deployment'] },
  {
    desc: 'List items are converted, each problem with its item path',
    yaml: 'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: shop}}\n- {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {ports: [{port: 0}]}}',
    objects: [{ kind: 'Namespace', name: 'shop' }],
    problems: [['items[1].spec.ports[0].port', 'between 1 and 65535']],
  },
];

function project(o: RegistryObject): unknown {
  switch (o.kind) {
    case 'Service': {
      const s = o.value;
      return { kind: o.kind, namespace: s.namespace, name: s.name, type: s.type, clusterIPs: s.clusterIPs, ports: s.ports, ...(s.externalName ? { externalName: s.externalName } : {}) };
    }
    case 'EndpointSlice':
      return { kind: o.kind, namespace: o.value.namespace, name: o.value.name, serviceName: o.value.serviceName, endpoints: o.value.group.endpoints, ports: o.value.group.ports };
    case 'Namespace':
      return { kind: o.kind, name: o.value.name };
    default:
      return { kind: o.kind, name: o.value.name };
  }
}

describe('registry: converting Kubernetes objects', () => {
  for (const row of rows) {
    it(row.desc, () => {
      const out = convertDocument(jsyaml.load(row.yaml), { file: 'x.yaml', line: 1 }, ctx);
      expect(out.problems.map((p) => [formatPath(p.path), p.message])).to.satisfy((got: Array<[string, string]>) => {
        const want = row.problems ?? [];
        return got.length === want.length && want.every(([path, frag], i) => got[i]?.[0] === path && got[i]![1].includes(frag));
      }, JSON.stringify(out.problems));
      if (row.objects) expect(out.objects.map((o) => project(o.model))).to.deep.equal(row.objects);
      expect(out.ignored).to.deep.equal(row.ignored ?? []);
    });
  }
});
