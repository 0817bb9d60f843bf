import { expect } from 'chai';
import { Resolver } from 'node:dns/promises';
import { mkdtemp, mkdir, rm, writeFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe, type ServeProcess } from '../helpers/tools.js';

const SVC = (ip: string, port: number) => `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: ${ip}
  ports: [{name: http, port: ${port}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- addresses: [10.244.0.${port % 250}]
`;

// The registry changes under a running server; every answer must be one of the good versions.
describe('e2e: live reload of zone files under query load', () => {
  let root: string;
  let server: ServeProcess;
  let resolver: Resolver;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'svcdns-live-'));
    await mkdir(join(root, 'cluster.local'));
    await writeFile(join(root, 'cluster.local', 'web.yaml'), SVC('10.96.0.10', 1));
    server = await startServe(['--zones', root, '--dns', '127.0.0.1:0']);
    resolver = new Resolver({ timeout: 1000, tries: 2 });
    resolver.setServers([`127.0.0.1:${server.port}`]);
  });
  after(async () => {
    await server.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('edits, a broken file and its fix: no answer is ever wrong or empty, and the last edit wins', async () => {
    const file = join(root, 'cluster.local', 'web.yaml');
    let stop = false;
    const bad: string[] = [];
    let answered = 0;
    const load = (async () => {
      while (!stop) {
        const [a, srv] = await Promise.all([
          resolver.resolve4('web.shop.svc.cluster.local').catch((e: Error) => [`error ${e.message}`]),
          resolver.resolveSrv('_http._tcp.web.shop.svc.cluster.local').catch((e: Error) => [{ port: -1, name: e.message }]),
        ]);
        answered++;
        if (a.length !== 1 || a[0] !== '10.96.0.10') bad.push(`A ${JSON.stringify(a)}`);
        if (srv.length !== 1 || !(srv[0]!.port >= 1 && srv[0]!.port <= 40)) bad.push(`SRV ${JSON.stringify(srv)}`);
      }
    })();
    for (let port = 2; port <= 40; port++) {
      if (port % 10 === 0) await writeFile(file, 'apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  ports: [{name: http, port: 70000}]\n');
      else if (port % 3 === 0) {
        await writeFile(`${file}.tmp~`, SVC('10.96.0.10', port)); // an editor saving by rename
        await rename(`${file}.tmp~`, file);
      } else await writeFile(file, SVC('10.96.0.10', port));
      await new Promise((r) => setTimeout(r, 15));
    }
    // A broken version that stays long enough to be read: it is refused, the last good one serves.
    await writeFile(file, 'apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  ports: [{name: http, port: 70000}]\n');
    const refused = Date.now() + 3000;
    while (Date.now() < refused && !/not 70000/.test(server.output())) await new Promise((r) => setTimeout(r, 20));
    await writeFile(file, SVC('10.96.0.10', 39));
    const until = Date.now() + 3000;
    let last: number | undefined;
    while (Date.now() < until) {
      last = (await resolver.resolveSrv('_http._tcp.web.shop.svc.cluster.local'))[0]?.port;
      if (last === 39) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    stop = true;
    await load;
    expect(bad.slice(0, 5)).to.deep.equal([]);
    expect(answered).to.be.greaterThan(20);
    expect(last).to.equal(39);
    expect(server.output()).to.match(/web\.yaml:5: spec\.ports\[0\]\.port: must be a port number between 1 and 65535, not 70000 \(file refused; its previous version keeps serving\)/);
  });

  it('SIGHUP reloads', async () => {
    server.child.kill('SIGHUP');
    const until = Date.now() + 3000;
    while (Date.now() < until && !/reloading every zone file/.test(server.output())) await new Promise((r) => setTimeout(r, 20));
    expect(server.output()).to.match(/"signal":"SIGHUP"/);
    expect(await resolver.resolve4('web.shop.svc.cluster.local')).to.deep.equal(['10.96.0.10']);
  });
});
