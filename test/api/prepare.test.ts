import { expect } from 'chai';
import { AllocationIndex } from '../../src/api/allocate.js';
import { prepareObject } from '../../src/api/prepare.js';
import { RESOURCES, type ResourceDef } from '../../src/api/resources.js';
import type { Status } from '../../src/api/status.js';
import { parseCidr, type Cidr } from '../../src/net/ip.js';
import { defaultSettings } from '../../src/registry/settings.js';
import { ObjectCache } from '../../src/store/cache.js';
import type { KubeObject } from '../../src/store/types.js';

type O = Record<string, unknown>;
const SERVICES = RESOURCES.find((r) => r.name === 'services') as ResourceDef;
const SLICES = RESOURCES.find((r) => r.name === 'endpointslices') as ResourceDef;

function context(dual = false) {
  const settings = { ...defaultSettings('cluster.local'), serviceCIDRs: [parseCidr('10.96.0.0/24') as Cidr, ...(dual ? [parseCidr('2001:db8::/112') as Cidr] : [])] };
  const cache = new ObjectCache();
  // Another Service already holds 10.96.0.5 and node port 30080.
  const taken: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'taken', namespace: 'default' }, spec: { type: 'NodePort', clusterIP: '10.96.0.5', ports: [{ port: 80, nodePort: 30080 }] } };
  cache.reset([{ key: { kind: 'Service', namespace: 'default', name: 'taken' }, zone: 'cluster.local', revision: 1, origin: {}, object: taken }], 1);
  let n = 0;
  return { settings, index: new AllocationIndex(cache, 'cluster.local'), random: () => (n++ % 7) / 7 };
}

const svc = (spec: O, meta: O = {}): O => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', ...meta }, spec });

function run(def: ResourceDef, obj: O, old?: O, dual = false): { obj?: O; status?: Status } {
  const r = prepareObject(def, structuredClone(obj), old && structuredClone(old), 'default', context(dual));
  return r.ok ? { obj: r.value } : { status: r.error };
}

const spec = (o: O | undefined) => (o?.spec ?? {}) as O;

describe('api/prepare: Service create (defaults and allocation)', () => {
  const rows: Array<{ desc: string; in: O; dual?: boolean; check?: (s: O, o: O) => void; error?: string }> = [
    {
      desc: 'defaults as the API server sets them, and a cluster IP from the zone CIDR',
      in: svc({ ports: [{ port: 80 }] }),
      check: (s, o) => {
        expect(s.type).to.equal('ClusterIP');
        expect(s.sessionAffinity).to.equal('None');
        expect(s.internalTrafficPolicy).to.equal('Cluster');
        expect(s.ipFamilyPolicy).to.equal('SingleStack');
        expect(s.ipFamilies).to.deep.equal(['IPv4']);
        expect(s.ports).to.deep.equal([{ port: 80, protocol: 'TCP', targetPort: 80 }]);
        expect(s.clusterIP).to.match(/^10\.96\.0\.\d+$/);
        expect(s.clusterIPs).to.deep.equal([s.clusterIP]);
        expect(['10.96.0.0', '10.96.0.5', '10.96.0.10', '10.96.0.255']).to.not.include(s.clusterIP);
        expect(o.status).to.deep.equal({ loadBalancer: {} });
        expect((o.metadata as O).namespace).to.equal('default');
      },
    },
    {
      desc: 'a client cannot set uid, resourceVersion or creationTimestamp, nor status',
      in: { ...svc({ ports: [{ port: 80 }] }, { uid: 'x', creationTimestamp: '2000-01-01T00:00:00Z' }), status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } },
      check: (_s, o) => {
        expect(o.metadata).to.not.have.any.keys('uid', 'creationTimestamp', 'resourceVersion');
        expect(o.status).to.deep.equal({ loadBalancer: {} });
      },
    },
    { desc: 'a requested free IP is kept', in: svc({ clusterIP: '10.96.0.7', ports: [{ port: 80 }] }), check: (s) => expect(s.clusterIPs).to.deep.equal(['10.96.0.7']) },
    {
      desc: 'a requested IP already held by another Service is refused with the allocator words',
      in: svc({ clusterIP: '10.96.0.5', ports: [{ port: 80 }] }),
      error: 'Service "web" is invalid: spec.clusterIPs: Invalid value: ["10.96.0.5"]: failed to allocate IP 10.96.0.5: provided IP is already allocated',
    },
    {
      desc: 'a requested IP outside the CIDR is refused',
      in: svc({ clusterIP: '10.97.0.1', ports: [{ port: 80 }] }),
      error: 'Service "web" is invalid: spec.clusterIPs: Invalid value: ["10.97.0.1"]: failed to allocate IP 10.97.0.1: the provided IP (10.97.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/24',
    },
    { desc: 'headless: no IP, clusterIPs [None]', in: svc({ clusterIP: 'None', selector: { app: 'db' } }), check: (s) => expect([s.clusterIP, s.clusterIPs, s.ipFamilyPolicy]).to.deep.equal(['None', ['None'], 'SingleStack']) },
    {
      desc: 'headless without selector: RequireDualStack and both families, as Kubernetes defaults it',
      in: svc({ clusterIP: 'None' }),
      check: (s) => expect([s.ipFamilyPolicy, s.ipFamilies]).to.deep.equal(['RequireDualStack', ['IPv4', 'IPv6']]),
    },
    { desc: 'ExternalName: no IP, no families', in: svc({ type: 'ExternalName', externalName: 'www.example.org' }), check: (s) => expect(s).to.not.have.any.keys('clusterIP', 'clusterIPs', 'ipFamilies', 'internalTrafficPolicy') },
    {
      desc: 'NodePort: node ports allocated from the range, the same one for TCP and UDP of one port',
      in: svc({ type: 'NodePort', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53 }, { name: 'http', port: 80 }] }),
      check: (s) => {
        const ports = s.ports as O[];
        expect(ports[0]!.nodePort).to.be.within(30000, 32767);
        expect(ports[1]!.nodePort).to.equal(ports[0]!.nodePort);
        expect(ports[2]!.nodePort).to.not.equal(ports[0]!.nodePort);
        expect(ports[2]!.nodePort).to.not.equal(30080);
        expect(s.externalTrafficPolicy).to.equal('Cluster');
      },
    },
    {
      desc: 'a node port out of range is refused with the allocator words',
      in: svc({ type: 'NodePort', ports: [{ port: 80, nodePort: 80 }] }),
      error: 'Service "web" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767',
    },
    { desc: 'a taken node port is refused', in: svc({ type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }), error: 'Service "web" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated' },
    {
      desc: 'LoadBalancer: node ports, allocateLoadBalancerNodePorts, and a health check port with Local',
      in: svc({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ port: 443 }] }),
      check: (s) => {
        expect(s.allocateLoadBalancerNodePorts).to.equal(true);
        expect((s.ports as O[])[0]!.nodePort).to.be.within(30000, 32767);
        expect(s.healthCheckNodePort).to.be.within(30000, 32767);
      },
    },
    { desc: 'LoadBalancer with allocateLoadBalancerNodePorts false: none', in: svc({ type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ports: [{ port: 443 }] }), check: (s) => expect((s.ports as O[])[0]).to.not.have.key('nodePort') },
    {
      desc: 'dual-stack zone with PreferDualStack: one IP per family',
      dual: true,
      in: svc({ ipFamilyPolicy: 'PreferDualStack', ports: [{ port: 80 }] }),
      check: (s) => {
        expect(s.ipFamilies).to.deep.equal(['IPv4', 'IPv6']);
        expect((s.clusterIPs as string[])[1]).to.match(/^2001:db8::/);
      },
    },
    { desc: 'RequireDualStack on a single-stack zone is refused', in: svc({ ipFamilyPolicy: 'RequireDualStack', ports: [{ port: 80 }] }), error: 'Service "web" is invalid: spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services' },
    { desc: 'an IPv6 cluster IP on an IPv4 zone is refused', in: svc({ clusterIP: '2001:db8::1', ports: [{ port: 80 }] }), error: 'Service "web" is invalid: spec.clusterIPs[0]: Invalid value: ["2001:db8::1"]: IPv6 is not configured on this cluster' },
    { desc: 'file rules apply: port 70000', in: svc({ ports: [{ port: 70000 }] }), error: 'Service "web" is invalid: spec.ports[0].port: must be a port number between 1 and 65535, not 70000' },
    { desc: 'file rules apply: a bad type', in: svc({ type: 'Magic' }), error: 'Service "web" is invalid: spec.type: must be one of ClusterIP, NodePort, LoadBalancer, ExternalName, not "Magic"' },
    { desc: 'a bad label value', in: svc({ ports: [{ port: 80 }] }, { labels: { app: 'not ok!' } }), error: 'Service "web" is invalid: metadata.labels: Invalid value: "not ok!": a valid label must be an empty string' },
  ];
  for (const r of rows) {
    it(r.desc, () => {
      const got = run(SERVICES, r.in, undefined, r.dual);
      if (r.error) {
        expect(got.status?.message, JSON.stringify(got.obj)).to.contain(r.error);
        expect(got.status?.code).to.equal(422);
        expect(got.status?.details?.causes?.[0]?.field).to.be.a('string');
        return;
      }
      expect(got.status, JSON.stringify(got.status)).to.equal(undefined);
      r.check?.(spec(got.obj), got.obj!);
    });
  }
  it('a range that is full is a 500 InternalError, as in Kubernetes', () => {
    const ctx = context();
    ctx.settings.serviceCIDRs = [parseCidr('10.96.0.4/30') as Cidr]; // .5 taken, .6 the only other
    const once = prepareObject(SERVICES, svc({ ports: [{ port: 80 }] }), undefined, 'default', ctx);
    expect(once.ok).to.equal(true);
    ctx.settings.serviceCIDRs = [parseCidr('10.96.0.4/31') as Cidr];
    const full = prepareObject(SERVICES, svc({ ports: [{ port: 80 }] }), undefined, 'default', ctx);
    expect(full.ok ? 'ok' : `${full.error.code} ${full.error.message}`).to.equal('500 Internal error occurred: failed to allocate a serviceIP: range is full');
  });
});

describe('api/prepare: Service update (what replace and apply keep)', () => {
  const created = run(SERVICES, svc({ type: 'NodePort', ports: [{ name: 'http', port: 80 }] }, { uid: 'ignored' })).obj!;
  const old: O = { ...created, metadata: { ...(created.metadata as O), uid: 'u-1', creationTimestamp: '2024-01-01T00:00:00Z', resourceVersion: '7' } };
  const oldSpec = spec(old);
  const rows: Array<{ desc: string; in: O; check?: (s: O, o: O) => void; error?: string }> = [
    {
      desc: 'replace -f without clusterIP or nodePort keeps them; uid and creationTimestamp stay',
      in: svc({ type: 'NodePort', ports: [{ name: 'http', port: 80 }] }),
      check: (s, o) => {
        expect(s.clusterIP).to.equal(oldSpec.clusterIP);
        expect(s.clusterIPs).to.deep.equal(oldSpec.clusterIPs);
        expect((s.ports as O[])[0]!.nodePort).to.equal((oldSpec.ports as O[])[0]!.nodePort);
        expect((o.metadata as O).uid).to.equal('u-1');
        expect((o.metadata as O).creationTimestamp).to.equal('2024-01-01T00:00:00Z');
      },
    },
    {
      desc: 'changing an allocated cluster IP is refused (apply or edit: clusterIPs comes from the live object)',
      in: svc({ ...oldSpec, clusterIP: '10.96.0.99' }),
      error: 'Service "web" is invalid: spec.clusterIPs[0]: Invalid value: ["10.96.0.99"]: may not change once set',
    },
    {
      desc: 'changing it with replace -f (no clusterIPs in the manifest) is refused too',
      in: svc({ type: 'NodePort', clusterIP: '10.96.0.99', ports: [{ name: 'http', port: 80 }] }),
      error: `Service "web" is invalid: spec.clusterIPs[0]: must match spec.clusterIP (10.96.0.99), not ${String(oldSpec.clusterIP)}`,
    },
    { desc: 'NodePort to ClusterIP drops the node ports', in: svc({ ...oldSpec, type: 'ClusterIP' }), check: (s) => expect((s.ports as O[])[0]).to.not.have.key('nodePort') },
    {
      desc: 'ClusterIP to ExternalName drops the cluster IP and families',
      in: svc({ ...oldSpec, type: 'ExternalName', externalName: 'www.example.org' }),
      check: (s) => expect(s).to.not.have.any.keys('clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy'),
    },
    { desc: 'a new port gets its own node port', in: svc({ ...oldSpec, ports: [...(oldSpec.ports as O[]), { name: 'https', port: 443 }] }), check: (s) => expect((s.ports as O[])[1]!.nodePort).to.be.within(30000, 32767) },
  ];
  for (const r of rows) {
    it(r.desc, () => {
      const got = run(SERVICES, r.in, old);
      if (r.error) return expect(got.status?.message).to.equal(r.error);
      expect(got.status, JSON.stringify(got.status)).to.equal(undefined);
      r.check?.(spec(got.obj), got.obj!);
    });
  }
  it('ExternalName to ClusterIP allocates a cluster IP', () => {
    const ext = run(SERVICES, svc({ type: 'ExternalName', externalName: 'www.example.org' })).obj!;
    const got = run(SERVICES, svc({ type: 'ClusterIP', ports: [{ port: 80 }] }), ext);
    expect(spec(got.obj).clusterIP).to.match(/^10\.96\.0\./);
  });
});

describe('api/prepare: EndpointSlice', () => {
  const slice = (o: O = {}): O => ({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'web-1' }, addressType: 'IPv4', ports: [{ port: 8080 }], endpoints: [{ addresses: ['10.244.0.5'] }], ...o });
  it('defaults each port protocol to TCP', () => {
    expect(run(SLICES, slice()).obj?.ports).to.deep.equal([{ port: 8080, protocol: 'TCP' }]);
  });
  it('refuses an address of the wrong family, with the file rule words', () => {
    expect(run(SLICES, slice({ endpoints: [{ addresses: ['2001:db8::1'] }] })).status?.message).to.equal('EndpointSlice.discovery.k8s.io "web-1" is invalid: endpoints[0].addresses[0]: 2001:db8::1 is not an IPv4 address (addressType)');
  });
  it('addressType is immutable', () => {
    const old = run(SLICES, slice()).obj!;
    expect(run(SLICES, slice({ addressType: 'IPv6', endpoints: [] }), old).status?.message).to.equal('EndpointSlice.discovery.k8s.io "web-1" is invalid: addressType: Invalid value: "IPv6": field is immutable');
  });
});
