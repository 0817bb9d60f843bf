import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Report } from '../helpers/container-driver.js';
import { requireTool } from '../helpers/tools.js';

const run = promisify(execFile);
const DRIVER = fileURLToPath(new URL('../helpers/container-driver.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// glibc (getent, Node's dns.lookup) in a network namespace where svcdns is the container's only
// resolver on 127.0.0.1:53, with kubelet's pod resolv.conf (ndots:5, three cluster search
// domains and the node's). Needs root for the namespaces; see test/helpers/container-driver.ts.
describe('e2e: a container using svcdns as its resolver (glibc, network namespace)', function () {
  this.timeout(90_000);
  let report: Report;
  before(async () => {
    requireTool('ip');
    const { stdout } = await run(requireTool('unshare'), ['--net', '--mount', '--', process.execPath, '--import', 'tsx', DRIVER], { cwd: ROOT, timeout: 80_000 });
    report = JSON.parse(stdout) as Report;
    expect(report.errors).to.deep.equal([]);
  });

  it('the pod resolv.conf comes from `svcdns resolv-conf` (kubelet: cluster search domains, then the node\'s, ndots:5)', () => {
    expect(report.podResolvConf).to.equal('search default.svc.cluster.local svc.cluster.local cluster.local corp.test\nnameserver 127.0.0.1\noptions ndots:5\n');
  });

  const direct: Array<[string, RegExp]> = [
    ['getent ahosts myservice', /^10\.0\.0\.50 DGRAM \| 10\.0\.0\.50 RAW \| 10\.0\.0\.50 STREAM myservice\.default\.svc\.cluster\.local$/],
    ['node dns.lookup myservice', /^10\.0\.0\.50$/],
    ['getent ahosts db.data', /10\.244\.1\.20 STREAM db\.data\.svc\.cluster\.local .*10\.244\.2\.21/],
    ['node dns.lookup db.data', /^10\.244\.1\.20 10\.244\.2\.21$/],
    ['getent ahosts host.example.org', /^192\.0\.2\.8 DGRAM \| 192\.0\.2\.8 RAW \| 192\.0\.2\.8 STREAM host\.example\.org$/],
    ['node dns.lookup host.example.org', /^192\.0\.2\.8$/],
  ];
  for (const [what, expected] of direct) {
    it(`svcdns on port 53, upstream from its resolv.conf: ${what}`, () => {
      expect(report.direct[what]).to.match(expected);
    });
  }

  // Queries svcdns receives per lookup, without and with --autopath (A and AAAA for getaddrinfo
  // with AF_UNSPEC; A only for ahostsv4). Search list: default.svc.cluster.local svc.cluster.local
  // cluster.local corp.test, then the name itself.
  const counts: Array<[string, number, number]> = [
    ['getent ahosts myservice', 2, 2],
    ['getent ahosts db.data', 4, 2],
    ['getent ahosts myservice.default.svc.cluster.local', 10, 2],
    ['getent ahosts host.example.org', 10, 2],
    ['getent ahosts db.lab', 8, 2],
    ['getent ahosts nosuch.example.org', 10, 10],
    ['getent ahostsv4 host.example.org', 5, 1],
    ['getent ahostsv4 db.data', 2, 1],
    ['node dns.lookup host.example.org', 10, 2],
    ['node dns.lookup db.lab', 8, 2],
  ];
  for (const [what, plain, autopath] of counts) {
    it(`${what}: ${plain} queries, ${autopath} with --autopath`, () => {
      expect(report.counted.plain[what]?.queries, 'without').to.equal(plain);
      expect(report.counted.autopath[what]?.queries, 'with --autopath').to.equal(autopath);
    });
  }

  it('--autopath never changes what a lookup returns, and never costs more queries', () => {
    for (const [what, plain] of Object.entries(report.counted.plain)) {
      const auto = report.counted.autopath[what]!;
      expect(auto.queries, what).to.be.at.most(plain.queries);
      if (what.startsWith('getent hosts ')) {
        // gethostbyname lists the CNAME's owner among the aliases; address and canonical name are the same.
        const main = (s: string) => s.split(' | ').map((l) => l.split(' ').slice(0, 2).join(' '));
        expect(main(auto.answer), what).to.deep.equal(main(plain.answer));
      } else {
        expect(auto.answer, what).to.equal(plain.answer);
      }
    }
    expect(report.counted.plain['getent ahosts nosuch.example.org']?.answer).to.equal('error 2');
    expect(report.counted.plain['node dns.lookup db.lab']?.answer).to.equal('192.0.2.55');
  });
});
