import { expect } from 'chai';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SAMPLE_ZONES } from '../helpers/server.js';
import { runCli, startServe } from '../helpers/tools.js';
import { ENVVARS_FIXTURE } from '../helpers/zone.js';

/** The README's env output for the sample zone: what kubelet gives a container in default. */
const SAMPLE_DEFAULT_ENV = `KUBERNETES_PORT=tcp://10.0.0.1:443
KUBERNETES_PORT_443_TCP=tcp://10.0.0.1:443
KUBERNETES_PORT_443_TCP_ADDR=10.0.0.1
KUBERNETES_PORT_443_TCP_PORT=443
KUBERNETES_PORT_443_TCP_PROTO=tcp
KUBERNETES_SERVICE_HOST=10.0.0.1
KUBERNETES_SERVICE_PORT=443
KUBERNETES_SERVICE_PORT_HTTPS=443
MYSERVICE_PORT=tcp://10.0.0.50:80
MYSERVICE_PORT_80_TCP=tcp://10.0.0.50:80
MYSERVICE_PORT_80_TCP_ADDR=10.0.0.50
MYSERVICE_PORT_80_TCP_PORT=80
MYSERVICE_PORT_80_TCP_PROTO=tcp
MYSERVICE_SERVICE_HOST=10.0.0.50
MYSERVICE_SERVICE_PORT=80
MYSERVICE_SERVICE_PORT_HTTP=80
`;
const SAMPLE_KUBERNETES_ONLY = SAMPLE_DEFAULT_ENV.split('\n').filter((l) => l.startsWith('KUBERNETES_')).join('\n') + '\n';
const SAMPLE_RESOLV = 'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.0.0.10\noptions ndots:5\n';

const service = (ns: string, name: string, ip: string, port: number) =>
  `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n  clusterIP: ${ip}\n  ports:\n  - {name: http, port: ${port}}\n`;

describe('cli: env and resolv-conf', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'svcdns-envcli-'));
    await mkdir(join(dir, 'bad', 'cluster.local'), { recursive: true });
    await writeFile(join(dir, 'bad', 'cluster.local', 'svc.yaml'), `${service('default', 'web', '10.96.0.7', 80)}---\nkind: [oops\n`);
    await mkdir(join(dir, 'flat'));
    await writeFile(join(dir, 'flat', 'services.yaml'), await readFile(ENVVARS_FIXTURE, 'utf8'));
    await mkdir(join(dir, 'withsettings'));
    await writeFile(join(dir, 'withsettings', '_settings.yaml'), 'dnsServiceIP: 192.0.2.53\n');
    await writeFile(join(dir, 'withsettings', 'a.yaml'), service('team-a', 'web', '10.96.3.3', 80));
    await writeFile(join(dir, 'notapod.yaml'), service('default', 'web', '10.96.0.7', 80));
    await writeFile(join(dir, 'pod.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: team-a}\nspec:\n  dnsConfig:\n    searches: [corp.example.com, svc.cluster.local]\n    options: [{name: ndots, value: "2"}, {name: edns0}]\n');
    await writeFile(join(dir, 'hostnet.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {hostNetwork: true}\n');
    await writeFile(join(dir, 'corp.conf'), '# node file\nnameserver 192.0.2.1\nsearch corp.example.com. cluster.local\noptions timeout:1\noptions attempts:2\n');
    await writeFile(join(dir, 'broken.conf'), 'search a\nnameserver\n');
    await writeFile(join(dir, 'readme-pod.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: data}\nspec:\n  dnsConfig:\n    searches: [corp.example.org]\n    options: [{name: ndots, value: "2"}, {name: edns0}]\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const p = (...parts: string[]) => join(dir, ...parts);
  const rows: Array<{ desc: string; args: () => string[]; env?: () => Record<string, string>; code: number; out?: string | RegExp; err?: RegExp; noErr?: boolean }> = [
    { desc: 'env for the sample zone', args: () => ['env', '--namespace', 'default', '--zones', SAMPLE_ZONES], code: 0, out: SAMPLE_DEFAULT_ENV, noErr: true },
    { desc: 'the zones folder from SVCDNS_ZONES, -n', args: () => ['env', '-n', 'default'], env: () => ({ SVCDNS_ZONES: SAMPLE_ZONES }), code: 0, out: SAMPLE_DEFAULT_ENV },
    { desc: '--service-links=false', args: () => ['env', '-n', 'default', '--zones', SAMPLE_ZONES, '--service-links=false'], code: 0, out: SAMPLE_KUBERNETES_ONLY },
    { desc: '--no-service-links', args: () => ['env', '-n', 'default', '--zones', SAMPLE_ZONES, '--no-service-links'], code: 0, out: SAMPLE_KUBERNETES_ONLY },
    { desc: '--service-links true (separate value)', args: () => ['env', '-n', 'default', '--zones', SAMPLE_ZONES, '--service-links', 'true'], code: 0, out: SAMPLE_DEFAULT_ENV },
    { desc: '--service-links=maybe', args: () => ['env', '-n', 'default', '--zones', SAMPLE_ZONES, '--service-links=maybe'], code: 2, out: '', err: /--service-links=maybe: expected true or false/ },
    { desc: '--format shell', args: () => ['env', '-n', 'default', '--zones', SAMPLE_ZONES, '--format', 'shell'], code: 0, out: /^export KUBERNETES_PORT='tcp:\/\/10\.0\.0\.1:443'\n/ },
    { desc: '--format json', args: () => ['env', '-n', 'default', '--zones', SAMPLE_ZONES, '--format', 'json'], code: 0, out: /^\{\n {2}"KUBERNETES_PORT": "tcp:\/\/10\.0\.0\.1:443",\n/ },
    { desc: 'a bad --format', args: () => ['env', '-n', 'default', '--zones', SAMPLE_ZONES, '--format', 'xml'], code: 2, out: '', err: /svcdns env: --format xml: expected one of env, shell, json/ },
    { desc: 'no --namespace', args: () => ['env', '--zones', SAMPLE_ZONES], code: 2, out: '', err: /--namespace is required/ },
    { desc: 'a namespace that is not a DNS label', args: () => ['env', '-n', 'Team_A', '--zones', SAMPLE_ZONES], code: 2, out: '', err: /must be a DNS-1123 label/ },
    {
      desc: 'a namespace that does not exist: the kubernetes variables and a warning',
      args: () => ['env', '-n', 'nope', '--zones', SAMPLE_ZONES],
      code: 0,
      out: SAMPLE_KUBERNETES_ONLY,
      err: /^svcdns env: warning: namespace "nope" does not exist in zone cluster\.local: only the kubernetes variables are written\n$/,
    },
    { desc: 'an invalid registry: file:line and exit 2', args: () => ['env', '-n', 'default', '--zones', p('bad')], code: 2, out: '', err: /svc\.yaml:10: .*\nsvcdns env: 1 problem\(s\) in the registry/ },
    { desc: 'a missing registry', args: () => ['env', '-n', 'default', '--zones', p('missing')], code: 2, out: '', err: /cannot read the zones folder/ },
    { desc: 'a missing -f file', args: () => ['env', '-n', 'default', '-f', p('missing.yaml')], code: 2, out: '', err: /missing\.yaml: cannot read/ },
    { desc: '-f a registry file', args: () => ['env', '-n', 'team-a', '-f', ENVVARS_FIXTURE], code: 0, out: /^API_GATEWAY_PORT=tcp:\/\/10\.96\.1\.10:8443\n[^]*KUBERNETES_SERVICE_HOST=10\.96\.1\.1\n/ },
    { desc: '-f a folder holding registry files', args: () => ['env', '-n', 'team-b', '-f', p('flat')], code: 0, out: /^BILLING__V2_PORT=tcp:\/\/10\.96\.2\.10:8080\n[^]*DNS_PROXY_PORT=udp:\/\/\[fd00:10:96::35\]:53\n/ },
    { desc: '--zones and -f together', args: () => ['env', '-n', 'default', '--zones', SAMPLE_ZONES, '-f', ENVVARS_FIXTURE], code: 2, out: '', err: /either --zones DIR or -f PATH/ },
    { desc: '-f on the command line beats SVCDNS_ZONES', args: () => ['env', '-n', 'default', '-f', ENVVARS_FIXTURE], env: () => ({ SVCDNS_ZONES: p('missing') }), code: 0, out: /KUBERNETES_SERVICE_HOST=10\.96\.0\.1\n/ },
    { desc: '--domain names a zone that is not there', args: () => ['env', '-n', 'default', '--zones', SAMPLE_ZONES, '--domain', 'example.org'], code: 2, out: '', err: /no zone "example\.org" in the registry \(zones: cluster\.local\)/ },
    { desc: '--watch without -o', args: () => ['env', '-n', 'default', '--zones', SAMPLE_ZONES, '--watch'], code: 2, out: '', err: /--watch needs -o FILE/ },
    { desc: 'env --help', args: () => ['env', '--help'], code: 0, out: /Usage: svcdns env --namespace NS[^]*--service-links true\|false[^]*-o, --output FILE/ },
    { desc: 'check -f', args: () => ['check', '-f', ENVVARS_FIXTURE], code: 0, out: /^OK: cluster\.local: 19 services/ },
    { desc: 'resolv-conf for the sample zone (no node file)', args: () => ['resolv-conf', '-n', 'default', '--zones', SAMPLE_ZONES, '--host-resolv', ''], code: 0, out: SAMPLE_RESOLV, noErr: true },
    {
      desc: 'resolv-conf: node search appended (trailing dot stripped, duplicate dropped), node nameserver and options dropped',
      args: () => ['resolv-conf', '-n', 'default', '--zones', SAMPLE_ZONES, '--host-resolv', p('corp.conf')],
      code: 0,
      out: 'search default.svc.cluster.local svc.cluster.local cluster.local corp.example.com\nnameserver 10.0.0.10\noptions ndots:5\n',
    },
    {
      desc: 'resolv-conf --pod with dnsConfig',
      args: () => ['resolv-conf', '--pod', p('pod.yaml'), '--zones', SAMPLE_ZONES, '--host-resolv', ''],
      code: 0,
      out: 'search team-a.svc.cluster.local svc.cluster.local cluster.local corp.example.com\nnameserver 10.0.0.10\noptions ndots:2 edns0\n',
      err: /warning: namespace "team-a" does not exist in zone cluster\.local/,
    },
    {
      desc: 'resolv-conf --pod on the host network (ClusterFirst): the node file, parsed',
      args: () => ['resolv-conf', '--pod', p('hostnet.yaml'), '--zones', SAMPLE_ZONES, '--host-resolv', p('corp.conf')],
      code: 0,
      out: 'search corp.example.com cluster.local\nnameserver 192.0.2.1\noptions timeout:1 attempts:2\n',
    },
    { desc: 'resolv-conf: a Pod file that is not a Pod', args: () => ['resolv-conf', '--pod', p('notapod.yaml'), '--zones', SAMPLE_ZONES], code: 2, out: '', err: /notapod\.yaml:1: is a Service \(v1\), not a Pod[^]*not a valid v1 Pod/ },
    { desc: 'resolv-conf: a missing Pod file', args: () => ['resolv-conf', '--pod', p('nope.yaml'), '--zones', SAMPLE_ZONES], code: 2, out: '', err: /--pod .*nope\.yaml: cannot read/ },
    { desc: 'resolv-conf: --namespace and a Pod of another namespace', args: () => ['resolv-conf', '-n', 'other', '--pod', p('pod.yaml'), '--zones', SAMPLE_ZONES], code: 2, out: '', err: /namespace "team-a" does not match --namespace other/ },
    { desc: 'resolv-conf: neither --namespace nor --pod', args: () => ['resolv-conf', '--zones', SAMPLE_ZONES], code: 2, out: '', err: /give --namespace NS or --pod POD\.yaml/ },
    {
      desc: 'resolv-conf: an IPv6 nameserver is written bare (brackets accepted on input)',
      args: () => ['resolv-conf', '-n', 'default', '--zones', SAMPLE_ZONES, '--host-resolv', '', '--nameserver', '[FD00:10:96::A],10.0.0.10'],
      code: 0,
      out: 'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver fd00:10:96::a\nnameserver 10.0.0.10\noptions ndots:5\n',
    },
    { desc: 'resolv-conf: a nameserver that is not an IP', args: () => ['resolv-conf', '-n', 'default', '--nameserver', '10.0.0.10:53'], code: 2, out: '', err: /--nameserver 10\.0\.0\.10:53: expected an IP address \(resolv\.conf has no port/ },
    { desc: 'resolv-conf: a node file kubelet would refuse', args: () => ['resolv-conf', '-n', 'default', '--zones', SAMPLE_ZONES, '--host-resolv', p('broken.conf')], code: 2, out: '', err: /broken\.conf:2: nameserver line without an address/ },
    { desc: 'resolv-conf: a missing node file given explicitly', args: () => ['resolv-conf', '-n', 'default', '--zones', SAMPLE_ZONES, '--host-resolv', p('none.conf')], code: 2, out: '', err: /--host-resolv .*none\.conf: cannot read/ },
    {
      desc: 'resolv-conf: --nameserver and --domain need no registry',
      args: () => ['resolv-conf', '-n', 'team-b', '--nameserver', '10.96.0.10', '--domain', 'example.internal', '--host-resolv', ''],
      env: () => ({ SVCDNS_ZONES: '' }),
      code: 0,
      out: 'search team-b.svc.example.internal svc.example.internal example.internal\nnameserver 10.96.0.10\noptions ndots:5\n',
    },
    {
      desc: 'resolv-conf -f a folder: the nameserver from its _settings.yaml, the domain from --domain',
      args: () => ['resolv-conf', '-n', 'team-a', '-f', p('withsettings'), '--domain', 'example.internal', '--host-resolv', ''],
      code: 0,
      out: 'search team-a.svc.example.internal svc.example.internal example.internal\nnameserver 192.0.2.53\noptions ndots:5\n',
    },
    { desc: 'resolv-conf --help', args: () => ['resolv-conf', '--help'], code: 0, out: /Usage: svcdns resolv-conf \(--namespace NS \| --pod POD\.yaml\)/ },
  ];
  for (const r of rows) {
    it(`${r.desc}: exit ${r.code}`, async () => {
      const res = await runCli(r.args(), r.env?.());
      expect(res.code, res.stderr).to.equal(r.code);
      if (typeof r.out === 'string') expect(res.stdout).to.equal(r.out);
      else if (r.out) expect(res.stdout).to.match(r.out);
      if (r.err) expect(res.stderr).to.match(r.err);
      if (r.noErr) expect(res.stderr).to.equal('');
    });
  }

  it('the README shows the real output of both commands for the sample zone', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const shown = (cmd: string) => {
      const start = readme.indexOf(`$ npx svcdns ${cmd}\n`);
      expect(start, cmd).to.be.greaterThan(0);
      const body = readme.slice(start + cmd.length + 14);
      return `${body.slice(0, body.search(/\n(\$ |```)/)).trimEnd()}\n`;
    };
    expect(shown('env --namespace default')).to.equal(SAMPLE_DEFAULT_ENV);
    expect(shown('resolv-conf --namespace default')).to.equal(SAMPLE_RESOLV);
    const pod = (await runCli(['resolv-conf', '--pod', p('readme-pod.yaml'), '--zones', SAMPLE_ZONES, '--host-resolv', ''])).stdout;
    expect(shown('resolv-conf --pod pod.yaml')).to.equal(pod);
  });

  describe('-o FILE', () => {
    const out = () => p('out', 'default.env');
    beforeEach(async () => {
      await rm(p('out'), { recursive: true, force: true });
      await mkdir(p('out'));
    });
    const leftovers = async () => (await readdir(p('out'))).filter((n) => n.endsWith('.tmp'));

    it('writes the file, not stdout; the same bytes as stdout would get', async () => {
      const res = await runCli(['env', '-n', 'default', '--zones', SAMPLE_ZONES, '-o', out()]);
      expect([res.code, res.stdout, res.stderr]).to.deep.equal([0, '', '']);
      expect(await readFile(out(), 'utf8')).to.equal(SAMPLE_DEFAULT_ENV);
    });
    it('replaces the file by rename (a new inode), keeps its mode, and leaves no temp file', async () => {
      await writeFile(out(), 'OLD=1\n');
      await chmod(out(), 0o600);
      const before = await stat(out());
      const res = await runCli(['env', '-n', 'default', '--zones', SAMPLE_ZONES, '-o', out()]);
      expect(res.code, res.stderr).to.equal(0);
      const after = await stat(out());
      expect(after.ino).to.not.equal(before.ino);
      expect(after.mode & 0o777).to.equal(0o600);
      expect(await readFile(out(), 'utf8')).to.equal(SAMPLE_DEFAULT_ENV);
      expect(await leftovers()).to.deep.equal([]);
    });
    it('does not touch a file that already holds the output', async () => {
      await writeFile(out(), SAMPLE_DEFAULT_ENV);
      const before = await stat(out());
      expect((await runCli(['env', '-n', 'default', '--zones', SAMPLE_ZONES, '-o', out()])).code).to.equal(0);
      const after = await stat(out());
      expect([after.ino, after.mtimeMs]).to.deep.equal([before.ino, before.mtimeMs]);
    });
    const refused: Array<{ desc: string; args: string[] }> = [
      { desc: 'a bad --format', args: ['--zones', SAMPLE_ZONES, '--format', 'xml'] },
      { desc: 'an invalid registry', args: ['--zones', '<bad>'] },
      { desc: 'a missing registry', args: ['--zones', '<missing>'] },
    ];
    for (const r of refused) {
      it(`${r.desc}: exit 2, no file created, an existing one untouched`, async () => {
        const args = r.args.map((a) => (a === '<bad>' ? p('bad') : a === '<missing>' ? p('missing') : a));
        const res = await runCli(['env', '-n', 'default', ...args, '-o', out()]);
        expect(res.code).to.equal(2);
        expect(await readdir(p('out'))).to.deep.equal([]);
        await writeFile(out(), 'KEEP=1\n');
        const before = await stat(out());
        expect((await runCli(['env', '-n', 'default', ...args, '-o', out()])).code).to.equal(2);
        const after = await stat(out());
        expect([after.ino, await readFile(out(), 'utf8')]).to.deep.equal([before.ino, 'KEEP=1\n']);
        expect(await leftovers()).to.deep.equal([]);
      });
    }
    it('a folder that does not exist: exit 2 with ERR_WRITE wording', async () => {
      const res = await runCli(['env', '-n', 'default', '--zones', SAMPLE_ZONES, '-o', p('out', 'nodir', 'x.env')]);
      expect(res.code).to.equal(2);
      expect(res.stderr).to.match(/svcdns env: cannot write .*x\.env: ENOENT/);
    });
    it('resolv-conf -o writes the file', async () => {
      const file = p('out', 'resolv.conf');
      const res = await runCli(['resolv-conf', '-n', 'default', '--zones', SAMPLE_ZONES, '--host-resolv', '', '-o', file]);
      expect([res.code, res.stdout]).to.deep.equal([0, '']);
      expect(await readFile(file, 'utf8')).to.equal(SAMPLE_RESOLV);
    });
  });

  describe('HTTP: GET /env/<namespace> and /resolv.conf', () => {
    let base: string;
    let stop: () => Promise<number | null>;
    before(async () => {
      const s = await startServe(['--zones', SAMPLE_ZONES, '--dns', '127.0.0.1:0']);
      base = `http://127.0.0.1:${s.httpPort}`;
      stop = s.stop;
    });
    after(async () => {
      expect(await stop()).to.equal(0);
    });
    const rows: Array<{ path: string; status: number; type?: RegExp; body?: string | RegExp; warning?: RegExp }> = [
      { path: '/env/default', status: 200, type: /^text\/plain/, body: SAMPLE_DEFAULT_ENV },
      { path: '/env/default?format=env', status: 200, body: SAMPLE_DEFAULT_ENV },
      { path: '/env/default?format=shell', status: 200, type: /^text\/plain/, body: /^export KUBERNETES_PORT='tcp:\/\/10\.0\.0\.1:443'\n/ },
      { path: '/env/default?format=json', status: 200, type: /^application\/json/, body: /^\{\n {2}"KUBERNETES_PORT": "tcp:\/\/10\.0\.0\.1:443",/ },
      { path: '/env/default?serviceLinks=false', status: 200, body: SAMPLE_KUBERNETES_ONLY },
      { path: '/env/default?format=xml', status: 400, body: 'bad format "xml": expected one of env, shell, json\n' },
      { path: '/env/default?serviceLinks=maybe', status: 400, body: /bad serviceLinks "maybe"/ },
      { path: '/env/Team_A', status: 400, body: /namespace "Team_A" must be a DNS-1123 label/ },
      { path: '/env/%E0%A4%A', status: 400, body: /percent-encoding/ },
      { path: '/env/nope', status: 200, body: SAMPLE_KUBERNETES_ONLY, warning: /^299 - "namespace \\"nope\\" does not exist in zone cluster\.local/ },
      { path: '/env/default?domain=example.org', status: 404, body: /no zone "example\.org"/ },
      { path: '/env/', status: 404 },
      { path: '/resolv.conf?namespace=default', status: 200, type: /^text\/plain/, body: SAMPLE_RESOLV },
      { path: '/resolv.conf?namespace=default&nameserver=fd00:10:96::a', status: 200, body: /\nnameserver fd00:10:96::a\n/ },
      { path: '/resolv.conf?namespace=data', status: 200, body: /^search data\.svc\.cluster\.local / },
      { path: '/resolv.conf', status: 400, body: /namespace is required/ },
      { path: '/resolv.conf?namespace=default&nameserver=bogus', status: 400, body: /bad nameserver "bogus"/ },
    ];
    for (const r of rows) {
      it(`GET ${r.path} -> ${r.status}`, async () => {
        const res = await fetch(`${base}${r.path}`);
        const body = await res.text();
        expect(res.status, body).to.equal(r.status);
        if (r.type) expect(res.headers.get('content-type')).to.match(r.type);
        if (typeof r.body === 'string') expect(body).to.equal(r.body);
        else if (r.body) expect(body).to.match(r.body);
        if (r.warning) expect(res.headers.get('warning')).to.match(r.warning);
        else expect(res.headers.get('warning')).to.equal(null);
      });
    }
  });
});
