import { expect } from 'chai';
import { formatVariables, shellQuote } from '../../src/envvars/format.js';
import { envPrefix, joinHostPort, renderEnv, serviceEnv } from '../../src/envvars/render.js';
import { fixtureZone, svc, zoneFromYaml } from '../helpers/zone.js';

const KUBERNETES = svc('default', 'kubernetes', { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] });
const KUBERNETES_VARS = [
  'KUBERNETES_PORT=tcp://10.96.0.1:443',
  'KUBERNETES_PORT_443_TCP=tcp://10.96.0.1:443',
  'KUBERNETES_PORT_443_TCP_ADDR=10.96.0.1',
  'KUBERNETES_PORT_443_TCP_PORT=443',
  'KUBERNETES_PORT_443_TCP_PROTO=tcp',
  'KUBERNETES_SERVICE_HOST=10.96.0.1',
  'KUBERNETES_SERVICE_PORT=443',
  'KUBERNETES_SERVICE_PORT_HTTPS=443',
];

const lines = (vars: ReadonlyMap<string, string>) => formatVariables(vars, 'env').trimEnd().split('\n').filter(Boolean);

describe('envvars: variable names', () => {
  const rows: Array<[string, string]> = [
    ['redis-master', 'REDIS_MASTER'],
    ['a--b', 'A__B'],
    ['billing--v2', 'BILLING__V2'],
    ['s3-gateway', 'S3_GATEWAY'],
    ['x', 'X'],
  ];
  for (const [name, prefix] of rows) it(`${name} -> ${prefix}`, () => expect(envPrefix(name)).to.equal(prefix));

  const hosts: Array<[string, number, string]> = [
    ['10.0.0.1', 80, '10.0.0.1:80'],
    ['fd00::1', 53, '[fd00::1]:53'],
    ['::', 1, '[::]:1'],
  ];
  for (const [h, p, want] of hosts) it(`JoinHostPort(${h}, ${p}) = ${want}`, () => expect(joinHostPort(h, p)).to.equal(want));
});

/** One table row: registry YAML, the pod (namespace, links), and exactly the variables expected. */
interface Row {
  desc: string;
  yaml: string;
  ns: string;
  links?: boolean;
  want: string[];
  exists?: boolean;
  warnings?: RegExp[];
}

const rows: Row[] = [
  {
    desc: 'one unnamed port, protocol and type omitted: 7 variables, TCP',
    yaml: svc('default', 'redis-master', { clusterIP: '10.96.0.11', ports: [{ port: 6379, targetPort: 6379 }] }),
    ns: 'default',
    want: [
      'REDIS_MASTER_PORT=tcp://10.96.0.11:6379',
      'REDIS_MASTER_PORT_6379_TCP=tcp://10.96.0.11:6379',
      'REDIS_MASTER_PORT_6379_TCP_ADDR=10.96.0.11',
      'REDIS_MASTER_PORT_6379_TCP_PORT=6379',
      'REDIS_MASTER_PORT_6379_TCP_PROTO=tcp',
      'REDIS_MASTER_SERVICE_HOST=10.96.0.11',
      'REDIS_MASTER_SERVICE_PORT=6379',
    ],
  },
  { desc: 'kubernetes (port named https): 8 variables', yaml: KUBERNETES, ns: 'default', want: KUBERNETES_VARS },
  {
    desc: 'a--b becomes A__B (dashes are not collapsed)',
    yaml: svc('ns1', 'a--b', { clusterIP: '10.96.5.5', ports: [{ name: 'http-alt', port: 8080 }] }),
    ns: 'ns1',
    want: [
      'A__B_PORT=tcp://10.96.5.5:8080',
      'A__B_PORT_8080_TCP=tcp://10.96.5.5:8080',
      'A__B_PORT_8080_TCP_ADDR=10.96.5.5',
      'A__B_PORT_8080_TCP_PORT=8080',
      'A__B_PORT_8080_TCP_PROTO=tcp',
      'A__B_SERVICE_HOST=10.96.5.5',
      'A__B_SERVICE_PORT=8080',
      'A__B_SERVICE_PORT_HTTP_ALT=8080',
    ],
  },
  {
    desc: 'the first port in spec order (8443), not the lowest (80), is PREFIX_PORT and SERVICE_PORT',
    yaml: svc('ns1', 'gw', {
      clusterIP: '10.96.1.10',
      ports: [
        { name: 'web', port: 8443, targetPort: 443 },
        { name: 'admin', port: 80, targetPort: 8080 },
      ],
    }),
    ns: 'ns1',
    want: [
      'GW_PORT=tcp://10.96.1.10:8443',
      'GW_PORT_80_TCP=tcp://10.96.1.10:80',
      'GW_PORT_80_TCP_ADDR=10.96.1.10',
      'GW_PORT_80_TCP_PORT=80',
      'GW_PORT_80_TCP_PROTO=tcp',
      'GW_PORT_8443_TCP=tcp://10.96.1.10:8443',
      'GW_PORT_8443_TCP_ADDR=10.96.1.10',
      'GW_PORT_8443_TCP_PORT=8443',
      'GW_PORT_8443_TCP_PROTO=tcp',
      'GW_SERVICE_HOST=10.96.1.10',
      'GW_SERVICE_PORT=8443',
      'GW_SERVICE_PORT_ADMIN=80',
      'GW_SERVICE_PORT_WEB=8443',
    ],
  },
  {
    desc: 'UDP first: PREFIX_PORT is udp://; same number on TCP gets its own group',
    yaml: svc('kube-system', 'kube-dns', {
      clusterIP: '10.96.0.10',
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      ],
    }),
    ns: 'kube-system',
    want: [
      'KUBE_DNS_PORT=udp://10.96.0.10:53',
      'KUBE_DNS_PORT_53_TCP=tcp://10.96.0.10:53',
      'KUBE_DNS_PORT_53_TCP_ADDR=10.96.0.10',
      'KUBE_DNS_PORT_53_TCP_PORT=53',
      'KUBE_DNS_PORT_53_TCP_PROTO=tcp',
      'KUBE_DNS_PORT_53_UDP=udp://10.96.0.10:53',
      'KUBE_DNS_PORT_53_UDP_ADDR=10.96.0.10',
      'KUBE_DNS_PORT_53_UDP_PORT=53',
      'KUBE_DNS_PORT_53_UDP_PROTO=udp',
      'KUBE_DNS_SERVICE_HOST=10.96.0.10',
      'KUBE_DNS_SERVICE_PORT=53',
      'KUBE_DNS_SERVICE_PORT_DNS=53',
      'KUBE_DNS_SERVICE_PORT_DNS_TCP=53',
    ],
  },
  {
    desc: 'unnamed SCTP port: sctp:// in values, _SCTP in names, no SERVICE_PORT_<NAME>',
    yaml: svc('ns1', 'sig', { clusterIP: '10.96.2.40', ports: [{ port: 3868, protocol: 'SCTP' }] }),
    ns: 'ns1',
    want: [
      'SIG_PORT=sctp://10.96.2.40:3868',
      'SIG_PORT_3868_SCTP=sctp://10.96.2.40:3868',
      'SIG_PORT_3868_SCTP_ADDR=10.96.2.40',
      'SIG_PORT_3868_SCTP_PORT=3868',
      'SIG_PORT_3868_SCTP_PROTO=sctp',
      'SIG_SERVICE_HOST=10.96.2.40',
      'SIG_SERVICE_PORT=3868',
    ],
  },
  {
    desc: 'IPv6: brackets in the URL values only, SERVICE_HOST and _ADDR bare',
    yaml: svc('ns1', 'v6', { clusterIP: 'fd00:10:96::1a2b', ports: [{ name: 'statsd', port: 8125, protocol: 'UDP' }] }),
    ns: 'ns1',
    want: [
      'V6_PORT=udp://[fd00:10:96::1a2b]:8125',
      'V6_PORT_8125_UDP=udp://[fd00:10:96::1a2b]:8125',
      'V6_PORT_8125_UDP_ADDR=fd00:10:96::1a2b',
      'V6_PORT_8125_UDP_PORT=8125',
      'V6_PORT_8125_UDP_PROTO=udp',
      'V6_SERVICE_HOST=fd00:10:96::1a2b',
      'V6_SERVICE_PORT=8125',
      'V6_SERVICE_PORT_STATSD=8125',
    ],
  },
  {
    desc: 'dual-stack, IPv4 primary: spec.clusterIP only, never clusterIPs[1]',
    yaml: svc('ns1', 'pay', { clusterIP: '10.96.1.30', clusterIPs: ['10.96.1.30', 'fd00:10:96::1e'], ports: [{ name: 'grpc', port: 50051 }] }),
    ns: 'ns1',
    want: [
      'PAY_PORT=tcp://10.96.1.30:50051',
      'PAY_PORT_50051_TCP=tcp://10.96.1.30:50051',
      'PAY_PORT_50051_TCP_ADDR=10.96.1.30',
      'PAY_PORT_50051_TCP_PORT=50051',
      'PAY_PORT_50051_TCP_PROTO=tcp',
      'PAY_SERVICE_HOST=10.96.1.30',
      'PAY_SERVICE_PORT=50051',
      'PAY_SERVICE_PORT_GRPC=50051',
    ],
  },
  {
    desc: 'dual-stack, IPv6 primary: the IPv6 address, bracketed in URLs',
    yaml: svc('ns1', 'px', { clusterIP: 'fd00:10:96::35', clusterIPs: ['fd00:10:96::35', '10.96.2.53'], ports: [{ port: 53, protocol: 'UDP' }] }),
    ns: 'ns1',
    want: [
      'PX_PORT=udp://[fd00:10:96::35]:53',
      'PX_PORT_53_UDP=udp://[fd00:10:96::35]:53',
      'PX_PORT_53_UDP_ADDR=fd00:10:96::35',
      'PX_PORT_53_UDP_PORT=53',
      'PX_PORT_53_UDP_PROTO=udp',
      'PX_SERVICE_HOST=fd00:10:96::35',
      'PX_SERVICE_PORT=53',
    ],
  },
  {
    desc: 'spec.clusterIP is copied as written (no canonical form)',
    yaml: svc('ns1', 'up', { clusterIP: 'FD00::A', ports: [{ port: 80 }] }),
    ns: 'ns1',
    want: [
      'UP_PORT=tcp://[FD00::A]:80',
      'UP_PORT_80_TCP=tcp://[FD00::A]:80',
      'UP_PORT_80_TCP_ADDR=FD00::A',
      'UP_PORT_80_TCP_PORT=80',
      'UP_PORT_80_TCP_PROTO=tcp',
      'UP_SERVICE_HOST=FD00::A',
      'UP_SERVICE_PORT=80',
    ],
  },
  {
    desc: 'NodePort and LoadBalancer: always `port`, never targetPort or nodePort',
    yaml:
      svc('ns1', 'np', { type: 'NodePort', clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30080 }] }) +
      `---\n${JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'lb', namespace: 'ns1' }, spec: { type: 'LoadBalancer', clusterIP: '10.96.2.80', ports: [{ port: 443, targetPort: 8443, nodePort: 31443 }] }, status: { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } } })}\n`,
    ns: 'ns1',
    want: [
      'LB_PORT=tcp://10.96.2.80:443',
      'LB_PORT_443_TCP=tcp://10.96.2.80:443',
      'LB_PORT_443_TCP_ADDR=10.96.2.80',
      'LB_PORT_443_TCP_PORT=443',
      'LB_PORT_443_TCP_PROTO=tcp',
      'LB_SERVICE_HOST=10.96.2.80',
      'LB_SERVICE_PORT=443',
      'NP_PORT=tcp://10.96.0.20:80',
      'NP_PORT_80_TCP=tcp://10.96.0.20:80',
      'NP_PORT_80_TCP_ADDR=10.96.0.20',
      'NP_PORT_80_TCP_PORT=80',
      'NP_PORT_80_TCP_PROTO=tcp',
      'NP_SERVICE_HOST=10.96.0.20',
      'NP_SERVICE_PORT=80',
      'NP_SERVICE_PORT_HTTP=80',
    ],
  },
  {
    desc: 'headless, ExternalName and IP-less Services give nothing',
    yaml:
      svc('ns1', 'headless', { clusterIP: 'None', ports: [{ name: 'http', port: 5000 }] }) +
      svc('ns1', 'ext', { type: 'ExternalName', externalName: 'db.example.org', ports: [{ name: 'pg', port: 5432 }] }) +
      svc('ns1', 'noip', { ports: [{ port: 80 }] }),
    ns: 'ns1',
    want: [],
  },
  {
    desc: 'kubernetes from default is there with service links off; the namespace own Services are not',
    yaml: KUBERNETES + svc('team-a', 'web', { clusterIP: '10.96.1.5', ports: [{ port: 80 }] }) + svc('team-a', 'kubernetes', { clusterIP: '10.96.1.1', ports: [{ name: 'http', port: 8080 }] }),
    ns: 'team-a',
    links: false,
    want: KUBERNETES_VARS,
  },
  {
    desc: 'a kubernetes Service in the namespace replaces default/kubernetes when links are on',
    yaml: KUBERNETES + svc('team-a', 'kubernetes', { clusterIP: '10.96.1.1', ports: [{ name: 'http', port: 8080 }] }),
    ns: 'team-a',
    want: [
      'KUBERNETES_PORT=tcp://10.96.1.1:8080',
      'KUBERNETES_PORT_8080_TCP=tcp://10.96.1.1:8080',
      'KUBERNETES_PORT_8080_TCP_ADDR=10.96.1.1',
      'KUBERNETES_PORT_8080_TCP_PORT=8080',
      'KUBERNETES_PORT_8080_TCP_PROTO=tcp',
      'KUBERNETES_SERVICE_HOST=10.96.1.1',
      'KUBERNETES_SERVICE_PORT=8080',
      'KUBERNETES_SERVICE_PORT_HTTP=8080',
    ],
  },
  {
    desc: 'links off in default itself: only kubernetes',
    yaml: KUBERNETES + svc('default', 'web', { clusterIP: '10.96.0.5', ports: [{ port: 80 }] }),
    ns: 'default',
    links: false,
    want: KUBERNETES_VARS,
  },
  {
    desc: 'Services of other namespaces never leak in, not even with the same name',
    yaml: KUBERNETES + svc('other', 'web', { clusterIP: '10.96.9.9', ports: [{ port: 81 }] }) + svc('mine', 'web', { clusterIP: '10.96.8.8', ports: [{ port: 80 }] }),
    ns: 'mine',
    want: [
      ...KUBERNETES_VARS,
      'WEB_PORT=tcp://10.96.8.8:80',
      'WEB_PORT_80_TCP=tcp://10.96.8.8:80',
      'WEB_PORT_80_TCP_ADDR=10.96.8.8',
      'WEB_PORT_80_TCP_PORT=80',
      'WEB_PORT_80_TCP_PROTO=tcp',
      'WEB_SERVICE_HOST=10.96.8.8',
      'WEB_SERVICE_PORT=80',
    ],
  },
  {
    desc: 'a namespace that does not exist: the kubernetes variables only, and it is said',
    yaml: KUBERNETES + svc('team-a', 'web', { clusterIP: '10.96.1.5', ports: [{ port: 80 }] }),
    ns: 'nope',
    want: KUBERNETES_VARS,
    exists: false,
  },
  {
    desc: 'no kubernetes Service in default: nothing from it',
    yaml: svc('team-a', 'web', { clusterIP: '10.96.1.5', ports: [{ port: 80 }] }),
    ns: 'other',
    want: [],
    exists: false,
  },
  {
    desc: 'a ClusterIP Service without ports (the API would refuse it): SERVICE_HOST only, with a warning',
    yaml: svc('ns1', 'bare', { clusterIP: '10.96.0.9' }),
    ns: 'ns1',
    want: ['BARE_SERVICE_HOST=10.96.0.9'],
    warnings: [/ns1\/bare has no ports/],
  },
  {
    desc: 'colliding names (a has port variables, a-service its own): the later Service by name wins, with a warning',
    yaml: svc('ns1', 'a', { clusterIP: '10.96.0.1', ports: [{ port: 80 }] }) + svc('ns1', 'a-service', { clusterIP: '10.96.0.2', ports: [{ port: 90 }] }),
    ns: 'ns1',
    want: [
      'A_PORT=tcp://10.96.0.1:80',
      'A_PORT_80_TCP=tcp://10.96.0.1:80',
      'A_PORT_80_TCP_ADDR=10.96.0.1',
      'A_PORT_80_TCP_PORT=80',
      'A_PORT_80_TCP_PROTO=tcp',
      'A_SERVICE_HOST=10.96.0.1',
      'A_SERVICE_PORT=tcp://10.96.0.2:90',
      'A_SERVICE_PORT_90_TCP=tcp://10.96.0.2:90',
      'A_SERVICE_PORT_90_TCP_ADDR=10.96.0.2',
      'A_SERVICE_PORT_90_TCP_PORT=90',
      'A_SERVICE_PORT_90_TCP_PROTO=tcp',
      'A_SERVICE_SERVICE_HOST=10.96.0.2',
      'A_SERVICE_SERVICE_PORT=90',
    ],
    warnings: [/A_SERVICE_PORT is set by both ns1\/a and ns1\/a-service; ns1\/a-service wins/],
  },
];

describe('envvars: the variables of a pod (kubelet rules)', () => {
  for (const r of rows) {
    it(r.desc, () => {
      const env = serviceEnv(zoneFromYaml(r.yaml), { namespace: r.ns, serviceLinks: r.links ?? true });
      expect(lines(env.vars)).to.deep.equal(r.want);
      expect(env.namespaceExists, 'namespace exists').to.equal(r.exists ?? true);
      expect(env.warnings.length, env.warnings.join('\n')).to.equal(r.warnings?.length ?? 0);
      r.warnings?.forEach((w, i) => expect(env.warnings[i]).to.match(w));
    });
  }
});

describe('envvars: the shared fixture, namespace by namespace', () => {
  // Expected counts: 5 per port + 2 per Service + 1 per named port (kubelet's FromServices).
  const counts: Array<{ ns: string; links: boolean; services: string[]; vars: number }> = [
    { ns: 'default', links: true, services: ['default/frontend', 'default/kubernetes', 'default/redis-master'], vars: 23 },
    { ns: 'team-a', links: true, services: ['team-a/api-gateway', 'team-a/kubernetes', 'team-a/metrics-v6', 'team-a/payments', 'team-a/redis-master'], vars: 59 },
    { ns: 'team-a', links: false, services: ['default/kubernetes'], vars: 8 },
    { ns: 'team-b', links: true, services: ['team-b/billing--v2', 'team-b/dns-proxy', 'default/kubernetes', 'team-b/lb-ingress', 'team-b/s3-gateway', 'team-b/sctp-signaling'], vars: 8 + 13 + 8 + 13 + 8 + 7 },
    { ns: 'kube-system', links: true, services: ['default/kubernetes', 'kube-system/kube-dns', 'kube-system/metrics-server'], vars: 8 + 18 + 8 },
  ];
  for (const c of counts) {
    it(`${c.ns} (links ${c.links}): ${c.services.length} Services, ${c.vars} variables`, () => {
      const env = serviceEnv(fixtureZone(), { namespace: c.ns, serviceLinks: c.links });
      expect([...env.services].sort()).to.deep.equal([...c.services].sort());
      expect(env.vars.size).to.equal(c.vars);
      expect(env.warnings).to.deep.equal([]);
    });
  }
  it('team-a: the namespace kubernetes Service, the first port 8443 and IPv6 brackets', () => {
    const v = serviceEnv(fixtureZone(), { namespace: 'team-a' }).vars;
    expect(v.get('KUBERNETES_SERVICE_HOST')).to.equal('10.96.1.1');
    expect(v.get('API_GATEWAY_PORT')).to.equal('tcp://10.96.1.10:8443');
    expect(v.get('API_GATEWAY_SERVICE_PORT_ADMIN_HTTP')).to.equal('80');
    expect(v.get('API_GATEWAY_PORT_2905_SCTP_PROTO')).to.equal('sctp');
    expect(v.get('METRICS_V6_PORT_9100_TCP')).to.equal('tcp://[fd00:10:96::1a2b]:9100');
    expect(v.get('METRICS_V6_PORT_9100_TCP_ADDR')).to.equal('fd00:10:96::1a2b');
    expect(v.get('REDIS_MASTER_SERVICE_HOST')).to.equal('10.96.1.11');
    expect(v.has('SEARCH_HEADLESS_SERVICE_HOST')).to.equal(false);
  });
});

describe('envvars: formats', () => {
  const zone = zoneFromYaml(KUBERNETES + svc('ns1', 'v6', { clusterIP: 'fd00::1', ports: [{ port: 53, protocol: 'UDP' }] }));
  it('env: sorted KEY=value lines, unquoted, LF, final LF', () => {
    const { text } = renderEnv(zone, { namespace: 'ns1' });
    expect(text.endsWith('\n')).to.equal(true);
    expect(text).to.not.include('\r').and.not.include('"').and.not.include("'");
    const keys = text.trimEnd().split('\n').map((l) => l.slice(0, l.indexOf('=')));
    expect(keys).to.deep.equal([...keys].sort());
    expect(text).to.include('V6_PORT=udp://[fd00::1]:53\n');
  });
  it("shell: export KEY='value'", () => {
    const { text } = renderEnv(zone, { namespace: 'ns1', format: 'shell' });
    expect(text.split('\n')[0]).to.equal("export KUBERNETES_PORT='tcp://10.96.0.1:443'");
    expect(text.trimEnd().split('\n').every((l) => /^export [A-Z0-9_]+='[^']*'$/.test(l))).to.equal(true);
  });
  it('json: one object, same variables', () => {
    const r = renderEnv(zone, { namespace: 'ns1', format: 'json' });
    expect(JSON.parse(r.text)).to.deep.equal(Object.fromEntries(r.vars));
    expect(Object.keys(JSON.parse(r.text) as object)).to.deep.equal([...r.vars.keys()].sort());
  });
  it("shellQuote escapes a single quote as '\\''", () => expect(shellQuote("a'b")).to.equal(`'a'\\''b'`));
  it('a value that could not be written unquoted is a bug, not output', () => {
    expect(() => formatVariables(new Map([['X', 'a b']]), 'env')).to.throw(/bug/);
    expect(() => formatVariables(new Map([['1X', 'a']]), 'env')).to.throw(/bug/);
  });
});
