/**
 * The real kubectl (whatever `kubectl` is on PATH; on this image the gcloud dispatcher, which runs
 * the client matching the server's /version) against `svcdns serve` over HTTPS with a token, a
 * fresh HOME per server (kubectl caches discovery per server in ~/.kube/cache). After each write,
 * dig sees the change.
 */
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { dig, requireTool, runCli, startServe, type ServeProcess } from '../helpers/tools.js';

interface Run {
  code: number;
  out: string;
  err: string;
}

const SAMPLE = `apiVersion: v1
kind: Service
metadata: {name: kubernetes, namespace: default}
spec: {clusterIP: 10.96.0.1, ports: [{name: https, port: 443}]}
`;

const svcYaml = (ports: string) => `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
  labels: {app: web}
spec:
  selector: {app: web}
  ports:
${ports}`;
const TWO_PORTS = '  - {name: http, port: 80, targetPort: 8080}\n  - {name: https, port: 443}\n';
const NEW_PORTS = '  - {name: http, port: 80, targetPort: 8080}\n  - {name: metrics, port: 9100}\n';

describe('e2e: kubectl drives the registry API', function () {
  this.timeout(60_000);
  let dir: string;
  let server: ServeProcess;
  const paths = { zones: '', home: '', kubeconfig: '', token: '', cert: '', key: '' };

  function kubectl(args: string[], { input, kubeconfig = paths.kubeconfig, env = {} }: { input?: string; kubeconfig?: string; env?: Record<string, string> } = {}): Promise<Run> {
    return new Promise((resolve) => {
      const child = execFile(
        requireTool('kubectl'),
        args,
        { env: { PATH: process.env.PATH ?? '', HOME: paths.home, KUBECONFIG: kubeconfig, ...env }, timeout: 30_000 },
        (err, out, errOut) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: out.toString(), err: errOut.toString() }),
      );
      if (input !== undefined) child.stdin?.end(input);
    });
  }
  const ok = async (args: string[], opts?: Parameters<typeof kubectl>[1]) => {
    const r = await kubectl(args, opts);
    expect(r.code, `kubectl ${args.join(' ')}: ${r.err}`).to.equal(0);
    return r.out;
  };
  const digShort = async (...args: string[]) => (await dig(server.port, ['+short', ...args])).trim();
  // The DNS snapshot is rebuilt right after the write is acknowledged: allow it a moment.
  async function digUntil(want: (s: string) => boolean, ...args: string[]): Promise<string> {
    let last = '';
    for (const until = Date.now() + 5000; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
      last = await digShort(...args);
      if (want(last)) return last;
    }
    return last;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'svcdns-kubectl-'));
    Object.assign(paths, {
      zones: join(dir, 'zones'),
      home: join(dir, 'home'),
      kubeconfig: join(dir, 'kubeconfig'),
      token: join(dir, 'token'),
      cert: join(dir, 'tls.crt'),
      key: join(dir, 'tls.key'),
    });
    await mkdir(join(paths.zones, 'cluster.local'), { recursive: true });
    await mkdir(paths.home);
    await writeFile(join(paths.zones, 'cluster.local', '_settings.yaml'), 'serviceCIDRs: [10.96.0.0/24]\n');
    await writeFile(join(paths.zones, 'cluster.local', 'sample.yaml'), SAMPLE);
    await writeFile(paths.token, 'e2e-token-0123456789\n');
    server = await startServe(['--zones', paths.zones, '--dns', '127.0.0.1:0', '--token-file', paths.token, '--tls-cert-file', paths.cert, '--tls-key-file', paths.key]);
    const kc = await runCli(['kubeconfig', '--server', `https://127.0.0.1:${server.httpPort}`, '--token-file', paths.token, '--tls-cert-file', paths.cert]);
    expect(kc.code, kc.stderr).to.equal(0);
    await writeFile(paths.kubeconfig, kc.stdout);
  });
  after(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('kubectl version and api-resources see the server', async () => {
    expect(await ok(['version'])).to.match(/Server Version: v1\.33\.0/);
    const resources = await ok(['api-resources']);
    for (const line of [/^endpoints\s+ep\s+v1\s+true\s+Endpoints$/m, /^namespaces\s+ns\s+v1\s+false\s+Namespace$/m, /^services\s+svc\s+v1\s+true\s+Service$/m, /^endpointslices\s+discovery\.k8s\.io\/v1\s+true\s+EndpointSlice$/m]) {
      expect(resources).to.match(line);
    }
  });

  it('apply -f creates; dig answers with the allocated cluster IP', async () => {
    await writeFile(join(dir, 'svc.yaml'), svcYaml(TWO_PORTS));
    expect(await ok(['apply', '-f', join(dir, 'svc.yaml')])).to.equal('service/web created\n');
    const ip = await ok(['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}']);
    expect(ip).to.match(/^10\.96\.0\.\d+$/);
    expect(await digUntil((s) => s === ip, 'web.default.svc.cluster.local')).to.equal(ip);
  });

  it('apply -f of a changed file configures: ports merged, no $ key stored, SRV follows', async () => {
    await writeFile(join(dir, 'svc.yaml'), svcYaml(NEW_PORTS));
    expect(await ok(['apply', '-f', join(dir, 'svc.yaml')])).to.equal('service/web configured\n');
    const ports = JSON.parse(await ok(['get', 'svc', 'web', '-o', 'jsonpath={.spec.ports}'])) as Array<{ name: string; port: number }>;
    expect(ports.map((p) => `${p.name}:${p.port}`)).to.deep.equal(['http:80', 'metrics:9100']);
    const file = await readFile(join(paths.zones, 'cluster.local', 'api', 'default', 'service.web.yaml'), 'utf8');
    expect(file).to.not.match(/\$/);
    expect(await digUntil((s) => s.includes(' 9100 '), 'SRV', '_metrics._tcp.web.default.svc.cluster.local')).to.match(/^0 100 9100 web\.default\.svc\.cluster\.local\.$/);
    expect(await digShort('SRV', '_https._tcp.web.default.svc.cluster.local')).to.equal('');
  });

  it('create of an existing object: AlreadyExists', async () => {
    const r = await kubectl(['create', '-f', join(dir, 'svc.yaml')]);
    expect(r.code).to.equal(1);
    expect(r.err).to.match(/Error from server \(AlreadyExists\): error when creating ".*svc\.yaml": services "web" already exists/);
  });

  it('get svc -A -o wide: every column, NAMESPACE filled', async () => {
    const lines = (await ok(['get', 'svc', '-A', '-o', 'wide'])).trim().split('\n');
    expect(lines[0]).to.match(/^NAMESPACE\s+NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\s+SELECTOR$/);
    expect(lines[1]).to.match(/^default\s+kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443\/TCP\s+\d+s\s+<none>$/);
    expect(lines[2]).to.match(/^default\s+web\s+ClusterIP\s+10\.96\.0\.\d+\s+<none>\s+80\/TCP,9100\/TCP\s+\d+s\s+app=web$/);
  });

  it('get svc NAME -o yaml: uid, resourceVersion, creationTimestamp and the defaults', async () => {
    const yaml = await ok(['get', 'svc', 'web', '-o', 'yaml']);
    for (const re of [/^  uid: [0-9a-f-]{36}$/m, /^  resourceVersion: "\d+"$/m, /^  creationTimestamp: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"$/m, /^  type: ClusterIP$/m, /^  sessionAffinity: None$/m, /^    protocol: TCP$/m, /^    targetPort: 9100$/m, /^  ipFamilies:\n  - IPv4$/m, /^  ipFamilyPolicy: SingleStack$/m, /^  clusterIPs:\n  - 10\.96\.0\.\d+$/m, /^  internalTrafficPolicy: Cluster$/m]) {
      expect(yaml).to.match(re);
    }
  });

  it('label: merge patch; selectors; dig unchanged', async () => {
    expect(await ok(['label', 'svc', 'web', 'tier=front'])).to.equal('service/web labeled\n');
    expect(await ok(['get', 'svc', '-l', 'tier=front', '-o', 'name'])).to.equal('service/web\n');
    expect(await ok(['get', 'svc', '--show-labels'])).to.match(/^web\s+.*app=web,tier=front$/m);
    expect(await ok(['get', 'svc', '--field-selector', 'metadata.name=kubernetes', '-o', 'name'])).to.equal('service/kubernetes\n');
  });

  it('replace with a stale resourceVersion: Conflict; replace -f without clusterIP keeps it', async () => {
    const before = await ok(['get', 'svc', 'web', '-o', 'yaml']);
    await writeFile(join(dir, 'stale.yaml'), before);
    await ok(['label', 'svc', 'web', 'tier=back', '--overwrite']);
    const r = await kubectl(['replace', '-f', join(dir, 'stale.yaml')]);
    expect(r.code).to.equal(1);
    expect(r.err).to.match(/Error from server \(Conflict\): error when replacing ".*stale\.yaml": Operation cannot be fulfilled on services "web": the object has been modified/);
    const ip = await ok(['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}']);
    expect(await ok(['replace', '-f', join(dir, 'svc.yaml')])).to.equal('service/web replaced\n');
    expect(await ok(['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).to.equal(ip);
    expect(await digShort('web.default.svc.cluster.local')).to.equal(ip);
  });

  it('edit (strategic merge patch from $EDITOR) changes a port; dig follows', async () => {
    expect(await ok(['edit', 'svc', 'web'], { env: { EDITOR: "sed -i 's/port: 9100$/port: 9200/'" } })).to.equal('service/web edited\n');
    expect(await digUntil((s) => s.includes(' 9200 '), 'SRV', '_metrics._tcp.web.default.svc.cluster.local')).to.match(/ 9200 /);
  });

  it('get svc -w prints the events another client makes', async () => {
    const watcher = spawn(requireTool('kubectl'), ['get', 'svc', '-w', '--output-watch-events'], { env: { PATH: process.env.PATH ?? '', HOME: paths.home, KUBECONFIG: paths.kubeconfig } });
    let out = '';
    watcher.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const wait = async (re: RegExp) => {
      for (const until = Date.now() + 10_000; Date.now() < until && !re.test(out); ) await new Promise((r) => setTimeout(r, 20));
      return out;
    };
    try {
      await wait(/ADDED\s+web/);
      await ok(['create', '-f', '-'], { input: 'apiVersion: v1\nkind: Service\nmetadata: {name: other}\nspec: {ports: [{port: 81}]}\n' });
      await wait(/ADDED\s+other/);
      await ok(['delete', 'svc', 'other']);
      await wait(/DELETED\s+other/);
    } finally {
      watcher.kill();
    }
    expect(out).to.match(/^EVENT\s+NAME\s+TYPE\s+CLUSTER-IP/m);
    expect(out).to.match(/^ADDED\s+other\s+ClusterIP\s+10\.96\.0\.\d+\s+<none>\s+81\/TCP/m);
    expect(out).to.match(/^DELETED\s+other\s+ClusterIP/m);
  });

  it('endpoint slices: create, get, headless answers, describe', async () => {
    await ok(['apply', '-f', '-'], {
      input: `apiVersion: v1
kind: Service
metadata: {name: db}
spec: {clusterIP: None, selector: {app: db}, ports: [{name: pg, port: 5432}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: db-1, labels: {kubernetes.io/service-name: db}}
addressType: IPv4
ports: [{name: pg, port: 5432}]
endpoints:
- addresses: [10.244.0.5]
  hostname: db-0
- addresses: [10.244.0.6]
  conditions: {ready: false}
`,
    });
    const lines = (await ok(['get', 'endpointslices'])).trim().split('\n');
    expect(lines[0]).to.match(/^NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE$/);
    expect(lines.find((l) => l.startsWith('db-1'))).to.match(/^db-1\s+IPv4\s+5432\s+10\.244\.0\.5,10\.244\.0\.6\s+\d+s$/);
    expect(await digUntil((s) => s === '10.244.0.5', 'db.default.svc.cluster.local')).to.equal('10.244.0.5');
    expect(await digShort('db-0.db.default.svc.cluster.local')).to.equal('10.244.0.5');
    const describe = await ok(['describe', 'svc', 'db']);
    expect(describe).to.match(/^Name:\s+db$/m);
    expect(describe).to.match(/^Endpoints:\s+10\.244\.0\.5:5432$/m);
    expect(await ok(['get', 'endpoints', 'db'])).to.match(/^db\s+10\.244\.0\.5:5432\s+\d+s$/m);
  });

  it('apply --server-side creates, then updates', async () => {
    const manifest = (port: number) => `apiVersion: v1\nkind: Service\nmetadata: {name: ssa}\nspec: {ports: [{name: http, port: ${port}}]}\n`;
    expect(await ok(['apply', '--server-side', '-f', '-'], { input: manifest(80) })).to.equal('service/ssa serverside-applied\n');
    expect(await digUntil((s) => /^10\.96\.0\./.test(s), 'ssa.default.svc.cluster.local')).to.match(/^10\.96\.0\./);
    expect(await ok(['apply', '--server-side', '-f', '-'], { input: manifest(8080) })).to.equal('service/ssa serverside-applied\n');
    expect(await digUntil((s) => s.includes(' 8080 '), 'SRV', '_http._tcp.ssa.default.svc.cluster.local')).to.match(/ 8080 /);
  });

  it('create namespace and create service (protobuf bodies from kubectl 1.32+)', async () => {
    expect(await ok(['create', 'namespace', 'shop'])).to.equal('namespace/shop created\n');
    expect(await ok(['create', 'service', 'nodeport', 'cart', '-n', 'shop', '--tcp=80:8080', '--node-port=30080'])).to.equal('service/cart created\n');
    expect(await ok(['get', 'svc', 'cart', '-n', 'shop', '-o', 'jsonpath={.spec.ports[0].nodePort}'])).to.equal('30080');
    expect(await digUntil((s) => /^10\.96\.0\./.test(s), 'cart.shop.svc.cluster.local')).to.match(/^10\.96\.0\./);
    expect((await ok(['get', 'ns'])).split('\n').map((l) => l.split(/\s+/)[0])).to.include.members(['NAME', 'default', 'shop']);
    const missing = await kubectl(['create', 'service', 'clusterip', 'x', '-n', 'nope', '--tcp=80']);
    expect(missing.err).to.match(/namespaces "nope" not found/);
  });

  it('invalid objects: 422 with the field, in the words of svcdns check and of Kubernetes allocation', async () => {
    const bad = await kubectl(['create', '-f', '-'], { input: 'apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec: {ports: [{port: 70000}]}\n' });
    expect(bad.err).to.match(/The Service "bad" is invalid: spec\.ports\[0\]\.port: must be a port number between 1 and 65535, not 70000/);
    const np = await kubectl(['create', '-f', '-'], { input: 'apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec: {type: NodePort, ports: [{port: 80, nodePort: 30080}]}\n' });
    expect(np.err).to.match(/spec\.ports\[0\]\.nodePort: Invalid value: 30080: provided port is already allocated/);
  });

  it('delete returns promptly; dig no longer answers; the file is gone', async () => {
    const started = Date.now();
    expect(await ok(['delete', 'svc', 'web'])).to.equal('service "web" deleted\n');
    expect(Date.now() - started).to.be.below(15_000);
    expect(await digUntil((s) => s === '', 'web.default.svc.cluster.local')).to.equal('');
    expect(await readdir(join(paths.zones, 'cluster.local', 'api', 'default'))).to.not.include('service.web.yaml');
  });

  describe('auth', () => {
    it('kubectl with the right token writes; with a wrong one it is refused, reads too', async () => {
      expect((await kubectl(['create', 'service', 'clusterip', 'auth-ok', '--tcp=80'])).code).to.equal(0);
      const wrong = join(dir, 'kubeconfig-wrong');
      await writeFile(wrong, (await readFile(paths.kubeconfig, 'utf8')).replace(/token: .*/, 'token: wrong-token'));
      const w = await kubectl(['create', 'service', 'clusterip', 'auth-wrong', '--tcp=80'], { kubeconfig: wrong });
      expect([w.code, w.err]).to.match(/Unauthorized|must be logged in/);
      const r = await kubectl(['get', 'svc', 'kubernetes', '-o', 'name'], { kubeconfig: wrong });
      expect(r.err).to.match(/Unauthorized|must be logged in/);
    });
    // kubectl itself never sends a request without credentials to an https server (it prompts for
    // a username instead), so "no token" is checked with Node's https client and the same CA.
    const rows: Array<{ desc: string; method: string; token?: string; want: number }> = [
      { desc: 'a write with no token', method: 'POST', want: 401 },
      { desc: 'a write with a wrong token', method: 'POST', token: 'nope', want: 401 },
      { desc: 'a write with the token', method: 'POST', token: 'e2e-token-0123456789', want: 201 },
      { desc: 'a loopback read with no token', method: 'GET', want: 200 },
    ];
    for (const r of rows) {
      it(`${r.desc}: ${r.want}`, async () => {
        const ca = await readFile(paths.cert, 'utf8');
        const body = r.method === 'POST' ? JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: `raw-${r.want}-${r.token ?? 'none'}` }, spec: { ports: [{ port: 80 }] } }) : undefined;
        const status = await new Promise<number>((resolve, reject) => {
          const req = httpsRequest(
            { host: '127.0.0.1', port: server.httpPort, method: r.method, path: '/api/v1/namespaces/default/services', ca, headers: { ...(r.token ? { Authorization: `Bearer ${r.token}` } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) } },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          );
          req.on('error', reject);
          req.end(body);
        });
        expect(status).to.equal(r.want);
      });
    }
  });
});
