import type { DnsServer } from '../../src/dns/server.js';
import { runCases, type Case } from '../helpers/case.js';
import { fixtureServer } from '../helpers/server.js';

const SOA = 'cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. * 7200 1800 86400 5';
const SOA_TEST = 'example.test. 30 IN SOA ns.dns.example.test. hostmaster.example.test. * 7200 1800 86400 30';

// The answers the Kubernetes DNS specification (schema 1.1.0) and CoreDNS's kubernetes plugin give
// for the fixture registry in test/fixtures/zones.
const cases: Case[] = [
  // Zone apex and schema version (spec 2.2)
  { qname: 'cluster.local.', qtype: 'SOA', aa: true, answer: [SOA] },
  { qname: 'cluster.local.', qtype: 'NS', answer: ['cluster.local. 5 IN NS ns.dns.cluster.local.'], extra: ['ns.dns.cluster.local. 5 IN A 10.96.0.10'] },
  { qname: 'cluster.local.', qtype: 'A', answer: [], ns: [SOA], desc: 'NODATA at the apex' },
  { qname: 'ns.dns.cluster.local.', qtype: 'A', answer: ['ns.dns.cluster.local. 5 IN A 10.96.0.10'] },
  { qname: 'dns-version.cluster.local.', qtype: 'TXT', answer: ['dns-version.cluster.local. 28800 IN TXT "1.1.0"'] },
  { qname: 'dns-version.cluster.local.', qtype: 'A', answer: [], ns: [SOA] },

  // ClusterIP Services (spec 2.3)
  { qname: 'kubernetes.default.svc.cluster.local.', qtype: 'A', aa: true, answer: ['kubernetes.default.svc.cluster.local. 5 IN A 10.96.0.1'] },
  { qname: 'web.shop.svc.cluster.local.', qtype: 'A', answer: ['web.shop.svc.cluster.local. 5 IN A 10.96.1.10'] },
  { qname: 'web.shop.svc.cluster.local.', qtype: 'AAAA', answer: [], ns: [SOA], desc: 'NODATA on an IPv4-only Service' },
  { qname: 'web.shop.svc.cluster.local.', qtype: 'TXT', answer: [], ns: [SOA] },
  { qname: 'web.shop.svc.cluster.local.', qtype: 'CNAME', answer: [], ns: [SOA] },
  { qname: 'api.shop.svc.cluster.local.', qtype: 'A', answer: ['api.shop.svc.cluster.local. 5 IN A 10.96.1.11'], desc: 'NodePort has a ClusterIP' },
  { qname: 'dual.default.svc.cluster.local.', qtype: 'A', answer: ['dual.default.svc.cluster.local. 5 IN A 10.96.0.20'] },
  { qname: 'dual.default.svc.cluster.local.', qtype: 'AAAA', answer: ['dual.default.svc.cluster.local. 5 IN AAAA fd00:10:96::20'] },
  { qname: 'statsd.monitoring.svc.cluster.local.', qtype: 'A', answer: ['statsd.monitoring.svc.cluster.local. 5 IN A 10.96.2.5'], desc: 'from a kind: List' },
  { qname: 'WEB.Shop.SVC.cluster.LOCAL.', qtype: 'A', answer: ['WEB.Shop.SVC.cluster.LOCAL. 5 IN A 10.96.1.10'], desc: 'case-insensitive, question case echoed' },

  // SRV (spec 2.3.2): named ports, Service port, target the Service, addresses in additional
  { qname: '_http._tcp.web.shop.svc.cluster.local.', qtype: 'SRV', answer: ['_http._tcp.web.shop.svc.cluster.local. 5 IN SRV 0 100 80 web.shop.svc.cluster.local.'], extra: ['web.shop.svc.cluster.local. 5 IN A 10.96.1.10'] },
  { qname: '_dns._udp.web.shop.svc.cluster.local.', qtype: 'SRV', answer: ['_dns._udp.web.shop.svc.cluster.local. 5 IN SRV 0 100 53 web.shop.svc.cluster.local.'] },
  { qname: '_dns._tcp.web.shop.svc.cluster.local.', qtype: 'SRV', rcode: 'NXDOMAIN', ns: [SOA], desc: 'wrong protocol' },
  { qname: '_HTTPS._TCP.web.shop.svc.cluster.local.', qtype: 'SRV', answer: ['_HTTPS._TCP.web.shop.svc.cluster.local. 5 IN SRV 0 100 443 web.shop.svc.cluster.local.'] },
  { qname: '_tcp.web.shop.svc.cluster.local.', qtype: 'SRV', answer: [], ns: [SOA], desc: 'empty non-terminal is NODATA (RFC 8020)' },
  {
    qname: 'web.shop.svc.cluster.local.',
    qtype: 'SRV',
    desc: 'SRV at the Service name lists every port',
    answer: [
      'web.shop.svc.cluster.local. 5 IN SRV 0 33 80 web.shop.svc.cluster.local.',
      'web.shop.svc.cluster.local. 5 IN SRV 0 33 443 web.shop.svc.cluster.local.',
      'web.shop.svc.cluster.local. 5 IN SRV 0 33 53 web.shop.svc.cluster.local.',
    ],
    extra: ['web.shop.svc.cluster.local. 5 IN A 10.96.1.10'],
  },
  { qname: 'api.shop.svc.cluster.local.', qtype: 'SRV', answer: ['api.shop.svc.cluster.local. 5 IN SRV 0 100 8080 api.shop.svc.cluster.local.'], extra: ['api.shop.svc.cluster.local. 5 IN A 10.96.1.11'], desc: 'unnamed port' },
  { qname: '_http._tcp.api.shop.svc.cluster.local.', qtype: 'SRV', rcode: 'NXDOMAIN', ns: [SOA], desc: 'unnamed ports have no _port._proto name' },
  { qname: 'statsd.monitoring.svc.cluster.local.', qtype: 'SRV', answer: ['statsd.monitoring.svc.cluster.local. 5 IN SRV 0 100 8125 statsd.monitoring.svc.cluster.local.'], extra: ['statsd.monitoring.svc.cluster.local. 5 IN A 10.96.2.5'] },

  // Endpoint names on a ClusterIP Service (CoreDNS): ready ones only, no doubled Endpoints
  { qname: '10-244-1-5.web.shop.svc.cluster.local.', qtype: 'A', answer: ['10-244-1-5.web.shop.svc.cluster.local. 5 IN A 10.244.1.5'] },
  { qname: 'web-a.web.shop.svc.cluster.local.', qtype: 'A', answer: ['web-a.web.shop.svc.cluster.local. 5 IN A 10.244.2.6'] },
  { qname: '10-244-3-7.web.shop.svc.cluster.local.', qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA], desc: 'not ready' },

  // Headless Services (spec 2.4)
  { qname: 'db.data.svc.cluster.local.', qtype: 'A', answer: ['db.data.svc.cluster.local. 5 IN A 10.244.1.20', 'db.data.svc.cluster.local. 5 IN A 10.244.2.21'], desc: 'ready endpoints only; absent condition is ready' },
  { qname: 'db-1.db.data.svc.cluster.local.', qtype: 'A', answer: ['db-1.db.data.svc.cluster.local. 5 IN A 10.244.2.21'] },
  { qname: 'db-2.db.data.svc.cluster.local.', qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
  { qname: 'db-9.db.data.svc.cluster.local.', qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA], desc: 'orphan slice in another namespace' },
  {
    qname: '_postgres._tcp.db.data.svc.cluster.local.',
    qtype: 'SRV',
    desc: 'headless SRV uses the endpoint port',
    answer: ['_postgres._tcp.db.data.svc.cluster.local. 5 IN SRV 0 50 15432 db-0.db.data.svc.cluster.local.', '_postgres._tcp.db.data.svc.cluster.local. 5 IN SRV 0 50 15432 db-1.db.data.svc.cluster.local.'],
    extra: ['db-0.db.data.svc.cluster.local. 5 IN A 10.244.1.20', 'db-1.db.data.svc.cluster.local. 5 IN A 10.244.2.21'],
  },
  { qname: 'cache.data.svc.cluster.local.', qtype: 'A', answer: ['cache.data.svc.cluster.local. 5 IN A 10.244.1.30'] },
  { qname: 'cache.data.svc.cluster.local.', qtype: 'AAAA', answer: ['cache.data.svc.cluster.local. 5 IN AAAA fd00:10:244:1::30', 'cache.data.svc.cluster.local. 5 IN AAAA fd00:10:244:2::31'] },
  { qname: 'cache-0.cache.data.svc.cluster.local.', qtype: 'AAAA', answer: ['cache-0.cache.data.svc.cluster.local. 5 IN AAAA fd00:10:244:1::30'] },
  { qname: 'fd00-10-244-2--31.cache.data.svc.cluster.local.', qtype: 'AAAA', answer: ['fd00-10-244-2--31.cache.data.svc.cluster.local. 5 IN AAAA fd00:10:244:2::31'] },
  {
    qname: '_redis._tcp.cache.data.svc.cluster.local.',
    qtype: 'SRV',
    desc: 'dual-stack SRV deduplicated by target and port',
    answer: ['_redis._tcp.cache.data.svc.cluster.local. 5 IN SRV 0 50 6379 cache-0.cache.data.svc.cluster.local.', '_redis._tcp.cache.data.svc.cluster.local. 5 IN SRV 0 50 6379 fd00-10-244-2--31.cache.data.svc.cluster.local.'],
    extra: ['cache-0.cache.data.svc.cluster.local. 5 IN A 10.244.1.30', 'cache-0.cache.data.svc.cluster.local. 5 IN AAAA fd00:10:244:1::30', 'fd00-10-244-2--31.cache.data.svc.cluster.local. 5 IN AAAA fd00:10:244:2::31'],
  },
  { qname: 'peer-0.peers.data.svc.cluster.local.', qtype: 'A', answer: ['peer-0.peers.data.svc.cluster.local. 5 IN A 10.244.1.40'], desc: 'publishNotReadyAddresses' },
  { qname: 'legacy-1.legacy.data.svc.cluster.local.', qtype: 'A', answer: ['legacy-1.legacy.data.svc.cluster.local. 5 IN A 10.244.2.51'], desc: 'tolerate-unready annotation' },
  { qname: '_grpc._tcp.legacy.data.svc.cluster.local.', qtype: 'SRV', desc: 'each Endpoints subset pairs its own addresses and ports', answer: ['_grpc._tcp.legacy.data.svc.cluster.local. 5 IN SRV 0 50 9000 legacy-0.legacy.data.svc.cluster.local.', '_grpc._tcp.legacy.data.svc.cluster.local. 5 IN SRV 0 50 9000 legacy-1.legacy.data.svc.cluster.local.'] },
  { qname: '_metrics._tcp.legacy.data.svc.cluster.local.', qtype: 'SRV', answer: ['_metrics._tcp.legacy.data.svc.cluster.local. 5 IN SRV 0 100 9100 10-244-3-52.legacy.data.svc.cluster.local.'] },
  { qname: 'empty.data.svc.cluster.local.', qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA], desc: 'headless with no ready endpoint (spec 2.4.1)' },
  { qname: 'lock.data.svc.cluster.local.', qtype: 'A', answer: ['lock.data.svc.cluster.local. 5 IN A 10.244.1.60'], desc: 'headless without ports' },
  { qname: 'lock.data.svc.cluster.local.', qtype: 'SRV', answer: [], ns: [SOA] },

  // ExternalName (spec 2.5)
  { qname: 'ext.data.svc.cluster.local.', qtype: 'A', answer: ['ext.data.svc.cluster.local. 5 IN CNAME www.example.org.'] },
  { qname: 'ext.data.svc.cluster.local.', qtype: 'CNAME', answer: ['ext.data.svc.cluster.local. 5 IN CNAME www.example.org.'] },
  { qname: 'ext.data.svc.cluster.local.', qtype: 'SRV', answer: ['ext.data.svc.cluster.local. 5 IN CNAME www.example.org.'], desc: 'an alias answers every type (RFC 1034 3.6.2)' },
  { qname: 'alias.data.svc.cluster.local.', qtype: 'A', ordered: true, answer: ['alias.data.svc.cluster.local. 5 IN CNAME web.shop.svc.cluster.local.', 'web.shop.svc.cluster.local. 5 IN A 10.96.1.10'], desc: 'in-zone target chased' },
  { qname: 'alias.data.svc.cluster.local.', qtype: 'AAAA', answer: ['alias.data.svc.cluster.local. 5 IN CNAME web.shop.svc.cluster.local.'] },
  { qname: 'loop1.data.svc.cluster.local.', qtype: 'A', ordered: true, answer: ['loop1.data.svc.cluster.local. 5 IN CNAME loop2.data.svc.cluster.local.', 'loop2.data.svc.cluster.local. 5 IN CNAME loop1.data.svc.cluster.local.'], desc: 'CNAME loop stops' },
  { qname: 'x.ext.data.svc.cluster.local.', qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
  { qname: '_https._tcp.ext.data.svc.cluster.local.', qtype: 'SRV', rcode: 'NXDOMAIN', ns: [SOA] },

  // Reverse (spec 2.3.3, 2.4.3)
  { qname: '10.1.96.10.in-addr.arpa.', qtype: 'PTR', answer: ['10.1.96.10.in-addr.arpa. 5 IN PTR web.shop.svc.cluster.local.'] },
  { qname: '0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa.', qtype: 'PTR', answer: ['0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa. 5 IN PTR dual.default.svc.cluster.local.'] },
  { qname: '21.2.244.10.in-addr.arpa.', qtype: 'PTR', answer: ['21.2.244.10.in-addr.arpa. 5 IN PTR db-1.db.data.svc.cluster.local.'] },
  { qname: '6.2.244.10.in-addr.arpa.', qtype: 'PTR', answer: ['6.2.244.10.in-addr.arpa. 5 IN PTR web-a.web.shop.svc.cluster.local.'], desc: 'endpoint of a ClusterIP Service' },
  { qname: '22.3.244.10.in-addr.arpa.', qtype: 'PTR', rcode: 'REFUSED', desc: 'not ready and outside the CIDRs: not ours' },
  { qname: '99.0.96.10.in-addr.arpa.', qtype: 'PTR', rcode: 'NXDOMAIN', ns: ['96.10.in-addr.arpa. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. * 7200 1800 86400 5'], desc: 'inside the service CIDR' },
  { qname: '1.0.1.10.in-addr.arpa.', qtype: 'PTR', rcode: 'REFUSED', desc: 'outside the service CIDR' },
  { qname: 'in-addr.arpa.', qtype: 'SOA', rcode: 'REFUSED' },
  { qname: '96.10.in-addr.arpa.', qtype: 'SOA', answer: ['96.10.in-addr.arpa. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. * 7200 1800 86400 5'], desc: 'apex of a reverse zone of the service CIDR' },
  { qname: '111.10.in-addr.arpa.', qtype: 'NS', answer: ['111.10.in-addr.arpa. 5 IN NS ns.dns.cluster.local.'], desc: 'last of the 16 zones of 10.96.0.0/12' },
  { qname: '112.10.in-addr.arpa.', qtype: 'NS', rcode: 'REFUSED' },
  { qname: '1.96.10.in-addr.arpa.', qtype: 'PTR', answer: [], ns: ['96.10.in-addr.arpa. 5 IN SOA * * * * * * 5'], desc: 'empty non-terminal above PTRs' },
  { qname: '7.96.10.in-addr.arpa.', qtype: 'PTR', rcode: 'NXDOMAIN', ns: ['96.10.in-addr.arpa. 5 IN SOA * * * * * * 5'] },

  // Pods, insecure mode (kubeadm default)
  { qname: '10-244-1-99.shop.pod.cluster.local.', qtype: 'A', answer: ['10-244-1-99.shop.pod.cluster.local. 5 IN A 10.244.1.99'] },
  { qname: '10-244-1-99.shop.pod.cluster.local.', qtype: 'AAAA', answer: [], ns: [SOA] },
  { qname: 'fd00-10--9.shop.pod.cluster.local.', qtype: 'AAAA', answer: ['fd00-10--9.shop.pod.cluster.local. 5 IN AAAA fd00:10::9'] },
  { qname: '10-244-1-99.nosuch.pod.cluster.local.', qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
  { qname: 'not-an-ip.shop.pod.cluster.local.', qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
  { qname: 'shop.pod.cluster.local.', qtype: 'A', answer: [], ns: [SOA] },
  { qname: 'empty.svc.cluster.local.', qtype: 'A', answer: [], ns: [SOA], desc: 'a Namespace object without Services' },
  { qname: 'nosuchns.svc.cluster.local.', qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA] },

  // Names that are not there
  { qname: 'nosuch.shop.svc.cluster.local.', qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
  { qname: 'nosuch.shop.svc.cluster.local.', qtype: 'HTTPS', rcode: 'NXDOMAIN', ns: [SOA] },
  { qname: 'web.shop.svcs.cluster.local.', qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
  { qname: '*.shop.svc.cluster.local.', qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA], desc: 'no wildcards' },
  { qname: 'web.shop.svc.cluster.local.svc.cluster.local.', qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
  { qname: 'web.shop.svc.mycluster.local.', qtype: 'A', rcode: 'REFUSED', desc: 'zones match whole labels' },
  { qname: 'example.org.', qtype: 'A', rcode: 'REFUSED', aa: false },

  // A second zone with its own settings: TTL 30, pods disabled, endpoint_pod_names
  { qname: 'app.prod.svc.example.test.', qtype: 'A', answer: ['app.prod.svc.example.test. 30 IN A 172.21.0.5', 'app.prod.svc.example.test. 30 IN A 172.21.0.6'] },
  { qname: 'app-5d8c7-qx2vb.app.prod.svc.example.test.', qtype: 'A', answer: ['app-5d8c7-qx2vb.app.prod.svc.example.test. 30 IN A 172.21.0.5'], desc: 'named after its pod' },
  { qname: 'app-main.app.prod.svc.example.test.', qtype: 'A', answer: ['app-main.app.prod.svc.example.test. 30 IN A 172.21.0.6'], desc: 'hostname wins over pod name' },
  { qname: '172-21-0-5.app.prod.svc.example.test.', qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA_TEST] },
  { qname: '1-2-3-4.prod.pod.example.test.', qtype: 'A', rcode: 'NXDOMAIN', ns: [SOA_TEST], desc: 'pods disabled' },
];

describe('cluster handler: the DNS spec and CoreDNS behaviour through handle()', () => {
  let server: DnsServer;
  before(async () => {
    server = await fixtureServer();
  });
  runCases(() => server.handle, cases);
});
