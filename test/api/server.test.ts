/**
 * The API over a real HTTP listener (port 0) and a real file store in a temporary zones folder:
 * status codes, Status bodies, auth before the body, limits, watch, dry-run, files written.
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiRoutes } from '../../src/api/routes.js';
import { createHttpServer, type HttpServer } from '../../src/http/server.js';
import { silentLogger } from '../../src/log.js';
import { FileStore } from '../../src/store/files/store.js';

type O = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON responses in assertions
const TOKEN = 'test-token';
const SAMPLE = `apiVersion: v1
kind: Service
metadata: {name: kubernetes, namespace: default}
spec: {clusterIP: 10.96.0.1, ports: [{name: https, port: 443}]}
# db: the database, headless
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: data, labels: {app: db}}
spec: {clusterIP: None, selector: {app: db}, ports: [{port: 5432}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: db-1, namespace: data, labels: {kubernetes.io/service-name: db}}
addressType: IPv4
ports: [{port: 5432}]
endpoints:
- addresses: [10.244.0.1]
- addresses: [10.244.0.2]
  conditions: {ready: false}
`;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: O;
}

function call(port: number, method: string, path: string, { body, token = TOKEN, type = 'application/json', accept, headers = {} }: { body?: string | Buffer; token?: string | null; type?: string; accept?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const h: Record<string, string | number> = { ...headers };
    if (token) h.Authorization = `Bearer ${token}`;
    if (body !== undefined) {
      h['Content-Type'] = type;
      h['Content-Length'] = Buffer.byteLength(body);
    }
    if (accept) h.Accept = accept;
    const req = request({ host: '127.0.0.1', port, method, path, headers: h }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json: O = {};
        try {
          json = JSON.parse(text) as O;
        } catch {
          // not JSON (openapi stub, YAML)
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const svcJson = (name: string, spec: O = {}, meta: O = {}) => JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, ...meta }, spec: { ports: [{ name: 'http', port: 80 }], ...spec } });

describe('api: the REST API over HTTP and a file store', () => {
  let root: string;
  let store: FileStore;
  let server: HttpServer;
  let port: number;
  const base = '/api/v1/namespaces/default/services';

  async function start(tokens: string[] = [TOKEN]) {
    server = createHttpServer({ log: silentLogger(), routes: apiRoutes({ store, zone: 'cluster.local', auth: { tokens, insecureAllowWrites: false }, log: silentLogger(), version: '0.0.0', watchTimeoutSeconds: 30 }) });
    port = ((await server.listen('127.0.0.1', 0)) as AddressInfo).port;
  }

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'svcdns-api-'));
    await mkdir(join(root, 'cluster.local'));
    await writeFile(join(root, 'cluster.local', '_settings.yaml'), 'serviceCIDRs: [10.96.0.0/24]\n');
    await writeFile(join(root, 'cluster.local', 'sample.yaml'), SAMPLE);
    store = new FileStore({ root, log: silentLogger(), debounceMs: 10, pollMs: 500 });
    expect(await store.start()).to.deep.equal([]);
    await start();
  });
  afterEach(async () => {
    await server.close();
    await store.close();
    await rm(root, { recursive: true, force: true });
  });

  describe('discovery', () => {
    const rows: Array<{ path: string; check: (r: Reply) => void }> = [
      { path: '/version', check: (r) => expect([r.json.major, r.json.minor]).to.deep.equal(['1', '33']) },
      { path: '/api', check: (r) => expect(r.json).to.include({ kind: 'APIVersions' }) },
      { path: '/apis', check: (r) => expect(r.json.groups[0].name).to.equal('discovery.k8s.io') },
      { path: '/apis/discovery.k8s.io', check: (r) => expect(r.json.preferredVersion.groupVersion).to.equal('discovery.k8s.io/v1') },
      { path: '/api/v1', check: (r) => expect(r.json.resources.map((x: O) => x.name)).to.include.members(['services', 'services/status', 'endpoints', 'namespaces']) },
      { path: '/apis/discovery.k8s.io/v1', check: (r) => expect(r.json.resources.map((x: O) => x.name)).to.deep.equal(['endpointslices']) },
      {
        path: '/openapi/v2',
        check: (r) => {
          expect(r.headers['content-type']).to.equal('application/octet-stream');
          expect(Buffer.from(r.text, 'latin1').length).to.equal(17);
        },
      },
      { path: '/openapi/v3', check: (r) => expect([r.status, r.json.kind]).to.deep.equal([404, 'Status']) },
      { path: '/api/v1/pods', check: (r) => expect([r.status, r.json.reason]).to.deep.equal([404, 'NotFound']) },
    ];
    for (const r of rows) it(`GET ${r.path}`, async () => r.check(await call(port, 'GET', r.path, { token: null })));
  });

  describe('auth is checked before the body is read', () => {
    const rows: Array<{ desc: string; token: string | null; tokens?: string[]; want: number; reason?: string }> = [
      { desc: 'no token', token: null, want: 401, reason: 'Unauthorized' },
      { desc: 'a wrong token', token: 'wrong', want: 401, reason: 'Unauthorized' },
      { desc: 'the right token', token: TOKEN, want: 201 },
      { desc: 'no token configured', token: null, tokens: [], want: 403, reason: 'Forbidden' },
    ];
    for (const r of rows) {
      it(`create with ${r.desc}: ${r.want}`, async () => {
        if (r.tokens) {
          await server.close();
          await start(r.tokens);
        }
        const res = await call(port, 'POST', base, { body: svcJson('web'), token: r.token });
        expect(res.status, res.text).to.equal(r.want);
        if (r.reason) {
          expect(res.json).to.include({ kind: 'Status', status: 'Failure', reason: r.reason, code: r.want });
          expect(store.cache.get('cluster.local', 'Service', 'default', 'web')).to.equal(undefined);
        }
      });
    }
    it('a refused write with a huge declared body is answered at once and closes the connection', async () => {
      const res = await new Promise<{ status: number; connection?: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, method: 'POST', path: base, headers: { 'Content-Type': 'application/json', 'Content-Length': 50_000_000 } }, (r) => {
          r.resume();
          resolve({ status: r.statusCode ?? 0, connection: r.headers.connection });
        });
        req.on('error', reject);
        req.write('{"kind":'); // the rest is never sent
      });
      expect(res).to.deep.equal({ status: 401, connection: 'close' });
    });
  });

  describe('bodies', () => {
    const rows: Array<{ desc: string; body: string | Buffer; type?: string; want: number; reason: string; message?: RegExp }> = [
      { desc: 'not JSON', body: 'this is not json', want: 400, reason: 'BadRequest', message: /not valid JSON/ },
      { desc: 'YAML with an alias bomb', type: 'application/yaml', body: 'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n', want: 400, reason: 'BadRequest' },
      { desc: 'over 1 MiB', body: Buffer.alloc(1.5 * 1024 * 1024, 0x20), want: 413, reason: 'RequestEntityTooLarge', message: /limit is 1048576/ },
      { desc: 'text/plain', type: 'text/plain', body: svcJson('web'), want: 415, reason: 'UnsupportedMediaType' },
      { desc: 'another kind', body: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } }), want: 400, reason: 'BadRequest', message: /must be of type Service/ },
      { desc: 'another namespace in the body', body: svcJson('web', {}, { namespace: 'data' }), want: 400, reason: 'BadRequest', message: /namespace of the provided object does not match/ },
      { desc: 'a resourceVersion on create', body: svcJson('web', {}, { resourceVersion: '5' }), want: 400, reason: 'BadRequest', message: /should not be set/ },
      { desc: 'no name', body: JSON.stringify({ apiVersion: 'v1', kind: 'Service', spec: {} }), want: 422, reason: 'Invalid', message: /metadata.name: Required value/ },
      { desc: 'an invalid port, with the file rule words and the field path in causes', body: svcJson('web', { ports: [{ port: 70000 }] }), want: 422, reason: 'Invalid', message: /spec.ports\[0\].port: must be a port number between 1 and 65535, not 70000/ },
    ];
    for (const r of rows) {
      it(`${r.desc}: ${r.want} ${r.reason}`, async () => {
        const res = await call(port, 'POST', base, { body: r.body, type: r.type ?? 'application/json' });
        expect(res.status, res.text).to.equal(r.want);
        expect(res.json).to.include({ kind: 'Status', reason: r.reason, code: r.want });
        if (r.message) expect(res.json.message).to.match(r.message);
        if (r.reason === 'Invalid' && /port/.test(r.desc)) expect(res.json.details.causes[0]).to.include({ field: 'spec.ports[0].port', reason: 'FieldValueInvalid' });
        expect(await readdir(join(root, 'cluster.local'))).to.deep.equal(['_settings.yaml', 'sample.yaml']);
      });
    }
    it('YAML bodies work (application/yaml)', async () => {
      const res = await call(port, 'POST', base, { type: 'application/yaml', body: 'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n' });
      expect(res.status, res.text).to.equal(201);
    });
  });

  it('create: 201, server fields and defaults, a file under api/; a second create is AlreadyExists', async () => {
    const res = await call(port, 'POST', base, { body: svcJson('web', {}, { labels: { app: 'web' } }) });
    expect(res.status, res.text).to.equal(201);
    expect(res.json.metadata).to.include.keys('uid', 'resourceVersion', 'creationTimestamp');
    expect(res.json.spec).to.include({ type: 'ClusterIP', sessionAffinity: 'None', ipFamilyPolicy: 'SingleStack' });
    expect(res.json.spec.clusterIP).to.match(/^10\.96\.0\.\d+$/);
    const file = await readFile(join(root, 'cluster.local', 'api', 'default', 'service.web.yaml'), 'utf8');
    expect(file).to.contain(`clusterIP: ${res.json.spec.clusterIP}`);
    expect(file).to.not.contain('resourceVersion');
    const again = await call(port, 'POST', base, { body: svcJson('web') });
    expect([again.status, again.json.reason, again.json.message]).to.deep.equal([409, 'AlreadyExists', 'services "web" already exists']);
  });

  it('create into a namespace that does not exist: 404 namespaces "x" not found; into one that only has objects in files: fine', async () => {
    const res = await call(port, 'POST', '/api/v1/namespaces/nope/services', { body: svcJson('web') });
    expect([res.status, res.json.message, res.json.details]).to.deep.equal([404, 'namespaces "nope" not found', { name: 'nope', kind: 'namespaces' }]);
    expect((await call(port, 'POST', '/api/v1/namespaces/data/services', { body: svcJson('web') })).status).to.equal(201);
    expect((await call(port, 'POST', '/api/v1/namespaces/kube-system/services', { body: svcJson('dns') })).status).to.equal(201);
  });

  it('dryRun=All: the answer of a create, nothing stored', async () => {
    const res = await call(port, 'POST', `${base}?dryRun=All`, { body: svcJson('web') });
    expect(res.status, res.text).to.equal(201);
    expect(res.json.spec.clusterIP).to.match(/^10\.96\.0\./);
    expect(store.cache.get('cluster.local', 'Service', 'default', 'web')).to.equal(undefined);
    expect(existsSync(join(root, 'cluster.local', 'api'))).to.equal(false);
    expect((await call(port, 'POST', `${base}?dryRun=Some`, { body: svcJson('web') })).status).to.equal(400);
  });

  it('get, list (one namespace, all, selectors), Table and YAML forms', async () => {
    await call(port, 'POST', base, { body: svcJson('web', {}, { labels: { app: 'web', tier: 'front' } }) });
    const one = await call(port, 'GET', `${base}/web`);
    expect(one.json.metadata.name).to.equal('web');
    expect((await call(port, 'GET', `${base}/nope`)).json.message).to.equal('services "nope" not found');
    const all = await call(port, 'GET', '/api/v1/services');
    expect(all.json.kind).to.equal('ServiceList');
    expect(all.json.metadata.resourceVersion).to.match(/^\d+$/);
    expect(all.json.items.map((i: O) => `${i.metadata.namespace}/${i.metadata.name}`)).to.deep.equal(['data/db', 'default/kubernetes', 'default/web']);
    const q = async (s: string) => (await call(port, 'GET', `/api/v1/services?${s}`)).json.items?.map((i: O) => i.metadata.name);
    expect(await q('labelSelector=tier%3Dfront')).to.deep.equal(['web']);
    expect(await q('labelSelector=app%20in%20(db,web)')).to.deep.equal(['db', 'web']);
    expect(await q('labelSelector=!app')).to.deep.equal(['kubernetes']);
    expect(await q('fieldSelector=metadata.name%3Dkubernetes')).to.deep.equal(['kubernetes']);
    expect(await q('fieldSelector=metadata.namespace!%3Ddefault')).to.deep.equal(['db']);
    const bad = await call(port, 'GET', '/api/v1/services?fieldSelector=spec.clusterIP%3D1');
    expect([bad.status, bad.json.reason]).to.deep.equal([400, 'BadRequest']);
    const table = await call(port, 'GET', '/api/v1/services', { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
    expect(table.json.kind).to.equal('Table');
    expect(table.json.rows.map((r: O) => r.cells.slice(0, 2))).to.deep.equal([['db', 'ClusterIP'], ['kubernetes', 'ClusterIP'], ['web', 'ClusterIP']]);
    expect(table.json.rows[0].object.metadata.namespace).to.equal('data');
    const yaml = await call(port, 'GET', `${base}/web`, { accept: 'application/yaml' });
    expect(yaml.headers['content-type']).to.equal('application/yaml');
    expect(yaml.text).to.match(/^apiVersion: v1\nkind: Service\n/);
    expect((await call(port, 'GET', `${base}/web`, { accept: 'application/vnd.kubernetes.protobuf' })).status).to.equal(406);
  });

  it('replace: a stale resourceVersion is a Conflict; without one it replaces, keeping the cluster IP', async () => {
    const created = (await call(port, 'POST', base, { body: svcJson('web') })).json;
    const stale = JSON.stringify({ ...created, metadata: { ...created.metadata, resourceVersion: '1' } });
    const c = await call(port, 'PUT', `${base}/web`, { body: stale });
    expect([c.status, c.json.reason, c.json.message]).to.deep.equal([409, 'Conflict', 'Operation cannot be fulfilled on services "web": the object has been modified; please apply your changes to the latest version and try again']);
    const r = await call(port, 'PUT', `${base}/web`, { body: svcJson('web', { ports: [{ name: 'http', port: 8080 }] }) });
    expect(r.status, r.text).to.equal(200);
    expect(r.json.spec.clusterIP).to.equal(created.spec.clusterIP);
    expect(r.json.metadata.uid).to.equal(created.metadata.uid);
    expect(Number(r.json.metadata.resourceVersion)).to.be.greaterThan(Number(created.metadata.resourceVersion));
    const moved = await call(port, 'PUT', `${base}/web`, { body: JSON.stringify({ ...r.json, spec: { ...r.json.spec, clusterIP: '10.96.0.99', clusterIPs: ['10.96.0.99'] } }) });
    expect([moved.status, moved.json.message]).to.deep.equal([422, 'Service "web" is invalid: spec.clusterIPs[0]: Invalid value: ["10.96.0.99"]: may not change once set']);
    expect((await call(port, 'PUT', `${base}/other`, { body: svcJson('web') })).json.message).to.equal('the name of the object (web) does not match the name on the URL (other)');
    expect((await call(port, 'PUT', `${base}/nope`, { body: svcJson('nope') })).status).to.equal(404);
  });

  it('replace of an object defined in a hand-written file rewrites its document there, not elsewhere', async () => {
    const cur = (await call(port, 'GET', '/api/v1/namespaces/data/services/db')).json;
    const r = await call(port, 'PUT', '/api/v1/namespaces/data/services/db', { body: JSON.stringify({ ...cur, metadata: { ...cur.metadata, labels: { app: 'db', tier: 'data' } } }) });
    expect(r.status, r.text).to.equal(200);
    const text = await readFile(join(root, 'cluster.local', 'sample.yaml'), 'utf8');
    expect(text).to.contain('tier: data');
    expect(text).to.contain('metadata: {name: kubernetes, namespace: default}'); // the other documents keep their text
    expect(text).to.match(/# db: the database, headless\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: db\n/); // and its own comment stays
    expect(existsSync(join(root, 'cluster.local', 'api'))).to.equal(false);
  });

  it('patch: merge, strategic (the body kubectl apply sends), JSON patch; no $ key is stored', async () => {
    await call(port, 'POST', base, { body: svcJson('web', { ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }] }) });
    const merge = await call(port, 'PATCH', `${base}/web`, { type: 'application/merge-patch+json', body: '{"metadata":{"labels":{"tier":"front"}}}' });
    expect(merge.json.metadata.labels).to.deep.equal({ tier: 'front' });
    const smp = await call(port, 'PATCH', `${base}/web`, {
      type: 'application/strategic-merge-patch+json',
      body: JSON.stringify({ spec: { '$setElementOrder/ports': [{ port: 80 }, { port: 9100 }], ports: [{ name: 'metrics', port: 9100 }, { $patch: 'delete', port: 443 }] } }),
    });
    expect(smp.status, smp.text).to.equal(200);
    expect(smp.json.spec.ports.map((p: O) => `${p.name}:${p.port}:${p.targetPort}`)).to.deep.equal(['http:80:80', 'metrics:9100:9100']);
    const file = await readFile(join(root, 'cluster.local', 'api', 'default', 'service.web.yaml'), 'utf8');
    expect(file).to.not.contain('$');
    const jp = await call(port, 'PATCH', `${base}/web`, { type: 'application/json-patch+json', body: '[{"op":"replace","path":"/spec/sessionAffinity","value":"ClientIP"}]' });
    expect(jp.json.spec.sessionAffinityConfig).to.deep.equal({ clientIP: { timeoutSeconds: 10800 } });
    const badJp = await call(port, 'PATCH', `${base}/web`, { type: 'application/json-patch+json', body: '[{"op":"test","path":"/spec/type","value":"NodePort"}]' });
    expect([badJp.status, badJp.json.reason]).to.deep.equal([422, 'Invalid']);
    expect((await call(port, 'PATCH', `${base}/web`, { type: 'application/json', body: '{}' })).status).to.equal(415);
    expect((await call(port, 'PATCH', `${base}/nope`, { type: 'application/merge-patch+json', body: '{}' })).status).to.equal(404);
  });

  it('server-side apply: 201 when it creates, 200 when it merges; fieldManager is required', async () => {
    const body = 'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{name: http, port: 80}]}\n';
    const path = `${base}/web?fieldManager=kubectl&force=false`;
    const first = await call(port, 'PATCH', path, { type: 'application/apply-patch+yaml', body });
    expect(first.status, first.text).to.equal(201);
    const second = await call(port, 'PATCH', path, { type: 'application/apply-patch+yaml', body: body.replace('port: 80}', 'port: 80}, {name: https, port: 443}') });
    expect(second.status, second.text).to.equal(200);
    expect(second.json.spec.clusterIP).to.equal(first.json.spec.clusterIP);
    expect(second.json.spec.ports.map((p: O) => p.port)).to.deep.equal([80, 443]);
    expect((await call(port, 'PATCH', `${base}/web`, { type: 'application/apply-patch+yaml', body })).status).to.equal(400);
    const missingNs = await call(port, 'PATCH', '/api/v1/namespaces/nope/services/web?fieldManager=x', { type: 'application/apply-patch+yaml', body });
    expect([missingNs.status, missingNs.json.message]).to.deep.equal([404, 'namespaces "nope" not found']);
  });

  it('an update that changes nothing keeps the resourceVersion (no write, no event)', async () => {
    const created = (await call(port, 'POST', base, { body: svcJson('web') })).json;
    const again = await call(port, 'PUT', `${base}/web`, { body: JSON.stringify(created) });
    expect(again.json.metadata.resourceVersion).to.equal(created.metadata.resourceVersion);
  });

  it('the status subresource sets status only', async () => {
    await call(port, 'POST', base, { body: svcJson('lb', { type: 'LoadBalancer' }) });
    const cur = (await call(port, 'GET', `${base}/lb`)).json;
    const r = await call(port, 'PUT', `${base}/lb/status`, { body: JSON.stringify({ ...cur, spec: { ...cur.spec, type: 'ClusterIP' }, status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } } }) });
    expect(r.status, r.text).to.equal(200);
    expect(r.json.spec.type).to.equal('LoadBalancer');
    expect(r.json.status.loadBalancer.ingress).to.deep.equal([{ ip: '192.0.2.10' }]);
    // A main-resource update keeps the status.
    const kept = await call(port, 'PATCH', `${base}/lb`, { type: 'application/merge-patch+json', body: '{"metadata":{"labels":{"x":"y"}},"status":{"loadBalancer":{}}}' });
    expect(kept.json.status.loadBalancer.ingress).to.deep.equal([{ ip: '192.0.2.10' }]);
  });

  it('delete: the object back, then NotFound; preconditions; the file is removed', async () => {
    const created = (await call(port, 'POST', base, { body: svcJson('web') })).json;
    const pre = await call(port, 'DELETE', `${base}/web`, { body: JSON.stringify({ preconditions: { uid: 'other' } }) });
    expect([pre.status, pre.json.reason]).to.deep.equal([409, 'Conflict']);
    const del = await call(port, 'DELETE', `${base}/web`, { body: '{"propagationPolicy":"Background"}' });
    expect([del.status, del.json.metadata?.uid]).to.deep.equal([200, created.metadata.uid]);
    expect((await call(port, 'GET', `${base}/web`)).status).to.equal(404);
    expect((await call(port, 'DELETE', `${base}/web`)).status).to.equal(404);
    expect(existsSync(join(root, 'cluster.local', 'api', 'default', 'service.web.yaml'))).to.equal(false);
    const slice = await call(port, 'DELETE', '/apis/discovery.k8s.io/v1/namespaces/data/endpointslices/db-1');
    expect(slice.json).to.deep.include({ kind: 'Status', status: 'Success', details: { name: 'db-1', group: 'discovery.k8s.io', kind: 'endpointslices', uid: slice.json.details.uid } });
  });

  it('endpoints: a read-only view computed from slices', async () => {
    const ep = await call(port, 'GET', '/api/v1/namespaces/data/endpoints/db');
    expect(ep.json.subsets).to.deep.equal([{ addresses: [{ ip: '10.244.0.1' }], notReadyAddresses: [{ ip: '10.244.0.2' }], ports: [{ port: 5432, protocol: 'TCP' }] }]);
    const w = await call(port, 'POST', '/api/v1/namespaces/data/endpoints', { body: '{}' });
    expect([w.status, w.json.reason]).to.deep.equal([405, 'MethodNotAllowed']);
  });

  it('namespaces: built-in and implicit ones listed; create; delete removes what is in it; default cannot go', async () => {
    const names = async () => (await call(port, 'GET', '/api/v1/namespaces')).json.items.map((n: O) => `${n.metadata.name}:${n.status.phase}`);
    expect(await names()).to.deep.equal(['data:Active', 'default:Active', 'kube-public:Active', 'kube-system:Active']);
    expect((await call(port, 'POST', '/api/v1/namespaces', { body: '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}' })).status).to.equal(201);
    expect((await call(port, 'POST', '/api/v1/namespaces', { body: '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"data"}}' })).json.reason).to.equal('AlreadyExists');
    await call(port, 'POST', '/api/v1/namespaces/shop/services', { body: svcJson('cart') });
    const del = await call(port, 'DELETE', '/api/v1/namespaces/shop');
    expect([del.status, del.json.status.phase]).to.deep.equal([200, 'Terminating']);
    expect(store.cache.list('Service', 'shop')).to.deep.equal([]);
    expect(await names()).to.not.include('shop:Active');
    const def = await call(port, 'DELETE', '/api/v1/namespaces/default');
    expect([def.status, def.json.message]).to.deep.equal([403, 'namespaces "default" is forbidden: this namespace may not be deleted']);
    await call(port, 'DELETE', '/api/v1/namespaces/data');
    expect(await readFile(join(root, 'cluster.local', 'sample.yaml'), 'utf8')).to.not.contain('namespace: data');
  });

  describe('watch', () => {
    function watch(path: string, accept?: string): { lines: () => O[]; close: () => void; status: Promise<number> } {
      const got: string[] = [];
      let close = () => undefined as void;
      const status = new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, headers: accept ? { Accept: accept } : {} }, (res) => {
          resolve(res.statusCode ?? 0);
          res.on('data', (c: Buffer) => got.push(c.toString()));
          res.on('error', () => undefined);
        });
        req.on('error', reject);
        req.end();
        close = () => req.destroy();
      });
      return { lines: () => got.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as O), close: () => close(), status };
    }
    const until = async (what: string, f: () => boolean) => {
      for (const t = Date.now(); Date.now() - t < 5000; await new Promise((r) => setTimeout(r, 10))) if (f()) return;
      throw new Error(`timed out: ${what}`);
    };

    it('from a list resourceVersion: only later events, selectors applied per event', async () => {
      const rv = (await call(port, 'GET', base)).json.metadata.resourceVersion;
      const w = watch(`${base}?watch=true&resourceVersion=${rv}&labelSelector=app%3Dweb`);
      expect(await w.status).to.equal(200);
      await call(port, 'POST', base, { body: svcJson('web', {}, { labels: { app: 'web' } }) });
      await call(port, 'POST', base, { body: svcJson('other', {}, { labels: { app: 'other' } }) });
      await call(port, 'PATCH', `${base}/web`, { type: 'application/merge-patch+json', body: '{"metadata":{"labels":{"app":"gone"}}}' });
      await until('2 events', () => w.lines().length >= 2);
      w.close();
      expect(w.lines().map((e) => `${e.type} ${e.object.metadata.name}`)).to.deep.equal(['ADDED web', 'DELETED web']);
    });
    it('without a resourceVersion: ADDED for what exists first; the Table form per event', async () => {
      const w = watch('/api/v1/services?watch=1', 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json');
      await until('2 initial events', () => w.lines().length >= 2);
      await call(port, 'DELETE', '/api/v1/namespaces/default/services/kubernetes');
      await until('the delete', () => w.lines().length >= 3);
      w.close();
      const events = w.lines();
      expect(events.map((e) => `${e.type} ${e.object.kind} ${e.object.rows[0].cells[0]}`)).to.deep.equal(['ADDED Table db', 'ADDED Table kubernetes', 'DELETED Table kubernetes']);
    });
    it('from a resourceVersion older than the history: an ERROR event with a 410 Expired Status', async () => {
      // A reset (the initial list) keeps no history: any older revision has expired.
      const w = watch(`${base}?watch=true&resourceVersion=1`);
      await until('the error', () => w.lines().length >= 1);
      w.close();
      expect(w.lines()[0]).to.deep.include({ type: 'ERROR' });
      expect(w.lines()[0]!.object).to.include({ kind: 'Status', reason: 'Expired', code: 410 });
    });
    it('namespaces: an implicit namespace appears with its first object and goes with its last', async () => {
      const w = watch('/api/v1/namespaces?watch=true&resourceVersion=1');
      await new Promise((r) => setTimeout(r, 50));
      await call(port, 'POST', '/api/v1/namespaces', { body: '{"metadata":{"name":"shop"}}' });
      await call(port, 'DELETE', '/api/v1/namespaces/shop');
      await until('2 events', () => w.lines().length >= 2);
      w.close();
      expect(w.lines().map((e) => `${e.type} ${e.object.metadata.name}`)).to.deep.equal(['ADDED shop', 'DELETED shop']);
    });
  });

  it('writes to one API serialize: 20 concurrent creates get 20 different cluster IPs', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => call(port, 'POST', base, { body: svcJson(`s${i}`) })));
    expect(results.map((r) => r.status)).to.deep.equal(Array(20).fill(201));
    const ips = new Set(results.map((r) => r.json.spec.clusterIP));
    expect(ips.size).to.equal(20);
  });
});
