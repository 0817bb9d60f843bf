import { expect } from 'chai';
import { mkdtemp, mkdir, readFile, rename, rm, writeFile, readdir, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/log.js';
import { FileStore } from '../../src/store/files/store.js';
import type { StoreEvent } from '../../src/store/types.js';
import { storeSuite, waitFor } from './suite.js';

async function tempZones(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'svcdns-store-'));
  await mkdir(join(root, 'cluster.local'), { recursive: true });
  return root;
}

function fileStore(root: string, skipInvalid = false): FileStore {
  return new FileStore({ root, log: silentLogger(), debounceMs: 10, pollMs: 500, skipInvalid });
}

storeSuite('FileStore', async () => {
  const root = await tempZones();
  const store = fileStore(root);
  const peer = fileStore(root);
  await store.start();
  await peer.start();
  return {
    store,
    peer,
    cleanup: async () => {
      await store.close();
      await peer.close();
      await rm(root, { recursive: true, force: true });
    },
  };
});

const SVC = (name: string, ip: string, port = 80) =>
  `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: shop\nspec:\n  clusterIP: ${ip}\n  ports:\n  - name: http\n    port: ${port}\n`;

describe('FileStore: following files edited by hand', () => {
  let root: string;
  let store: FileStore;
  let events: StoreEvent[];
  const zone = () => join(root, 'cluster.local');
  const svc = (name: string) => store.cache.get('cluster.local', 'Service', 'shop', name);
  const portOf = (name: string) => ((svc(name)?.object.spec as { ports: Array<{ port: number }> } | undefined)?.ports[0]?.port);

  beforeEach(async () => {
    root = await tempZones();
    await writeFile(join(zone(), 'shop.yaml'), `# shop services\n${SVC('web', '10.96.0.10')}---\n${SVC('api', '10.96.0.11')}`);
    store = fileStore(root);
    expect(await store.start()).to.deep.equal([]);
    events = [];
    store.cache.onChange((batch) => events.push(...batch));
  });
  afterEach(async () => {
    await store.close();
    await rm(root, { recursive: true, force: true });
  });

  it('an edited file: MODIFIED for what changed, nothing for the rest', async () => {
    await writeFile(join(zone(), 'shop.yaml'), `${SVC('web', '10.96.0.10', 8080)}---\n${SVC('api', '10.96.0.11')}`);
    await waitFor('web changes', () => portOf('web') === 8080);
    expect(events.map((e) => `${e.type} ${e.object.key.name}`)).to.deep.equal(['MODIFIED web']);
  });

  it('quick writes coalesce into one change', async () => {
    for (let port = 81; port <= 90; port++) await writeFile(join(zone(), 'shop.yaml'), `${SVC('web', '10.96.0.10', port)}---\n${SVC('api', '10.96.0.11')}`);
    await waitFor('the last write', () => portOf('web') === 90);
    await new Promise((r) => setTimeout(r, 100));
    expect(events.length).to.be.lessThan(4);
  });

  it('an editor that saves by rename (write a temp file, rename over)', async () => {
    await writeFile(join(zone(), '.shop.yaml.swp'), 'garbage: [');
    await writeFile(join(zone(), 'shop.yaml.tmp~'), `${SVC('web', '10.96.0.10', 7070)}---\n${SVC('api', '10.96.0.11')}`);
    await rename(join(zone(), 'shop.yaml.tmp~'), join(zone(), 'shop.yaml'));
    await waitFor('the renamed file', () => portOf('web') === 7070);
  });

  it('a new file, then a deleted file', async () => {
    await writeFile(join(zone(), 'more.yaml'), SVC('extra', '10.96.0.12'));
    await waitFor('extra appears', () => svc('extra'));
    await rm(join(zone(), 'more.yaml'));
    await waitFor('extra goes', () => !svc('extra'));
    expect(events.map((e) => `${e.type} ${e.object.key.name}`)).to.deep.equal(['ADDED extra', 'DELETED extra']);
  });

  it('a broken file keeps serving its last good version until it is fixed', async () => {
    await writeFile(join(zone(), 'shop.yaml'), `${SVC('web', '10.96.0.10', 70000)}---\n${SVC('api', '10.96.0.11')}`);
    await waitFor('the refusal', () => store.stats.failedReloads > 0);
    await writeFile(join(zone(), 'shop.yaml'), 'kind: [oops');
    await waitFor('the second refusal', () => store.stats.failedReloads > 1);
    expect(portOf('web')).to.equal(80);
    expect(svc('api')).to.not.equal(undefined);
    expect(events).to.deep.equal([]);
    await writeFile(join(zone(), 'shop.yaml'), `${SVC('web', '10.96.0.10', 8443)}\n`);
    await waitFor('the fix', () => portOf('web') === 8443 && !svc('api'));
  });

  it('a whole zone folder copied in, then removed', async () => {
    const src = await mkdtemp(join(tmpdir(), 'svcdns-src-'));
    await writeFile(join(src, 'x.yaml'), SVC('other', '10.96.0.30'));
    await cp(src, join(root, 'example.test'), { recursive: true });
    await waitFor('the new zone', () => store.cache.get('example.test', 'Service', 'shop', 'other'));
    expect(store.zones().map((z) => z.domain)).to.deep.equal(['cluster.local', 'example.test']);
    await rm(join(root, 'example.test'), { recursive: true });
    await waitFor('the zone goes', () => !store.cache.get('example.test', 'Service', 'shop', 'other'));
    await rm(src, { recursive: true });
  });

  it('files in sub-folders count too', async () => {
    await mkdir(join(zone(), 'team-a'), { recursive: true });
    await writeFile(join(zone(), 'team-a', 'svc.yml'), SVC('deep', '10.96.0.40'));
    await waitFor('deep', () => svc('deep'));
  });

  it('a settings change is picked up and re-validates the files', async () => {
    await writeFile(join(zone(), 'np.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: np, namespace: shop}\nspec: {type: NodePort, clusterIP: 10.96.0.50, ports: [{name: http, port: 80, nodePort: 30500}]}\n');
    await waitFor('np', () => svc('np'));
    const refusals = store.stats.failedReloads;
    await writeFile(join(zone(), '_settings.yaml'), 'ttl: 30\nnodePortRange: 31000-32000\n');
    await waitFor('the new settings', () => store.zones()[0]?.settings.ttl === 30);
    await waitFor('np.yaml re-validated and refused (30500 is out of the new range)', () => store.stats.failedReloads > refusals);
    expect(svc('np'), 'its last good version keeps serving').to.not.equal(undefined);
  });
});

describe('FileStore: API writes land in files', () => {
  let root: string;
  let store: FileStore;
  const zone = () => join(root, 'cluster.local');
  beforeEach(async () => {
    root = await tempZones();
    await writeFile(join(zone(), 'shop.yaml'), `# keep this comment\n${SVC('web', '10.96.0.10')}---\n# and this one\n${SVC('api', '10.96.0.11')}`);
    await writeFile(join(zone(), 'list.yaml'), `apiVersion: v1\nkind: List\nitems:\n- ${SVC('l1', '10.96.0.21').replace(/\n(?=.)/g, '\n  ')}- ${SVC('l2', '10.96.0.22').replace(/\n(?=.)/g, '\n  ')}`);
    store = fileStore(root);
    expect(await store.start()).to.deep.equal([]);
  });
  afterEach(async () => {
    await store.close();
    await rm(root, { recursive: true, force: true });
  });

  const obj = (name: string, port: number) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'shop' }, spec: { clusterIP: '10.96.0.99', ports: [{ name: 'http', port }] } });

  it('a created object gets its own file under api/, with uid and creationTimestamp but no resourceVersion', async () => {
    const r = await store.create('cluster.local', obj('new', 80));
    expect(r.ok).to.equal(true);
    const text = await readFile(join(zone(), 'api', 'shop', 'service.new.yaml'), 'utf8');
    expect(text).to.match(/uid: [0-9a-f-]{36}/).and.match(/creationTimestamp:/).and.not.match(/resourceVersion/);
    expect((await readdir(join(zone(), 'api', 'shop'))).filter((f) => f.startsWith('.'))).to.deep.equal([]);
  });

  it('an update rewrites only its own document; the other keeps its text and comment', async () => {
    const cur = store.cache.get('cluster.local', 'Service', 'shop', 'api')!;
    const r = await store.update('cluster.local', { ...obj('api', 9090), spec: { clusterIP: '10.96.0.11', ports: [{ name: 'http', port: 9090 }] } }, cur.revision);
    expect(r.ok, JSON.stringify(r)).to.equal(true);
    const text = await readFile(join(zone(), 'shop.yaml'), 'utf8');
    expect(text.startsWith(`# keep this comment\n${SVC('web', '10.96.0.10')}---\n`)).to.equal(true);
    expect(text).to.match(/port: 9090/);
  });

  it('deleting one item of a List rewrites the List without it', async () => {
    const r = await store.delete('cluster.local', { kind: 'Service', namespace: 'shop', name: 'l1' });
    expect(r.ok).to.equal(true);
    const text = await readFile(join(zone(), 'list.yaml'), 'utf8');
    expect(text).to.not.match(/l1/);
    expect(text).to.match(/name: l2/);
  });

  it('deleting an API-created object removes its file', async () => {
    await store.create('cluster.local', obj('tmp', 80));
    await store.delete('cluster.local', { kind: 'Service', namespace: 'shop', name: 'tmp' });
    const left = await readdir(join(zone(), 'api', 'shop'));
    expect(left).to.deep.equal([]);
  });

  it('a write to an object whose file is broken on disk is a Conflict, and the file is left alone', async () => {
    await writeFile(join(zone(), 'shop.yaml'), 'kind: [half-edited');
    await waitFor('the refusal', () => store.stats.failedReloads > 0);
    const cur = store.cache.get('cluster.local', 'Service', 'shop', 'api')!;
    const r = await store.update('cluster.local', obj('api', 1), cur.revision);
    expect(r.ok ? 'ok' : r.error.reason).to.equal('Conflict');
    expect(await readFile(join(zone(), 'shop.yaml'), 'utf8')).to.equal('kind: [half-edited');
  });

  it('our own writes do not come back as changes from the watcher', async () => {
    const events: StoreEvent[] = [];
    store.cache.onChange((b) => events.push(...b));
    await store.create('cluster.local', obj('quiet', 80));
    await new Promise((r) => setTimeout(r, 200));
    expect(events.map((e) => e.type)).to.deep.equal(['ADDED']);
  });
});
