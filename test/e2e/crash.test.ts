/**
 * Nothing acknowledged is lost: `svcdns serve` takes a stream of API writes (creates and
 * updates of Services, several at a time) and is killed with SIGKILL at a random moment; after a
 * restart, every write that got its HTTP response is there, no file is broken (serve refuses to
 * start otherwise) and no temporary file is left in zones/.
 */
import { expect } from 'chai';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe, type ServeProcess } from '../helpers/tools.js';

const TOKEN = 'crash-test-token';

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

describe('e2e: kill -9 during a stream of API writes loses no acknowledged write', function () {
  this.timeout(120_000);
  let dir: string;
  let server: ServeProcess | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'svcdns-crash-'));
    await mkdir(join(dir, 'zones', 'cluster.local'), { recursive: true });
    await writeFile(join(dir, 'zones', 'cluster.local', 'hand.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: hand, namespace: default}\nspec: {clusterIP: 10.96.0.3, ports: [{port: 80}]}\n');
    await writeFile(join(dir, 'token'), `${TOKEN}\n`);
  });
  after(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const start = () => startServe(['--zones', join(dir, 'zones'), '--dns', '127.0.0.1:0', '--token-file', join(dir, 'token')]);

  it('three rounds of writes, SIGKILL at a random moment, restart, check', async () => {
    const acked = new Map<string, number>(); // name -> highest acknowledged generation
    let seq = 0;
    for (let round = 0; round < 3; round++) {
      server = await start();
      const base = `http://127.0.0.1:${server.httpPort}/api/v1/namespaces/default/services`;
      const headers = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
      let stop = false;
      let sent = 0;
      const worker = async () => {
        while (!stop) {
          const names = [...acked.keys()];
          const update = names.length > 0 && Math.random() < 0.4;
          const name = update ? names[Math.floor(Math.random() * names.length)]! : `s${seq++}`;
          const gen = update ? acked.get(name)! + 1 : 0;
          sent++;
          try {
            const res = update
              ? await fetch(`${base}/${name}`, { method: 'PATCH', headers: { ...headers, 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify({ metadata: { labels: { gen: String(gen) } } }) })
              : await fetch(base, { method: 'POST', headers, body: JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, labels: { gen: '0' } }, spec: { ports: [{ port: 80 }] } }) });
            await res.text();
            // Acknowledged: the response came back. (Two workers may race on one name: keep the highest.)
            if (res.status === 200 || res.status === 201) acked.set(name, Math.max(acked.get(name) ?? -1, gen));
            else if (res.status !== 409) throw new Error(`unexpected ${res.status} for ${name}`);
          } catch (err) {
            if (!stop && !/fetch failed|ECONNRESET|ECONNREFUSED|socket/i.test(String((err as Error).cause ?? err))) throw err;
            return; // the server is gone
          }
        }
      };
      const workers = Array.from({ length: 4 }, () => worker());
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 1200));
      server.child.kill('SIGKILL');
      await new Promise((r) => server!.child.once('exit', r));
      stop = true;
      await Promise.all(workers);
      expect(sent, 'writes sent before the kill').to.be.greaterThan(10);
      server = undefined;

      // Restart: serve refuses to start on a broken file, so starting at all proves there is none.
      server = await start();
      const list = (await (await fetch(`http://127.0.0.1:${server.httpPort}/api/v1/namespaces/default/services`)).json()) as { items: Array<{ metadata: { name: string; labels?: Record<string, string> } }> };
      const stored = new Map(list.items.map((i) => [i.metadata.name, Number(i.metadata.labels?.gen ?? -1)]));
      const missing = [...acked].filter(([name, gen]) => !stored.has(name) || stored.get(name)! < gen).map(([n, g]) => `${n}@${g} (stored ${stored.get(n) ?? 'none'})`);
      expect(missing, `round ${round}: acknowledged writes lost`).to.deep.equal([]);
      expect(stored.get('hand')).to.equal(-1); // the hand-written file is untouched
      const leftovers = (await filesUnder(join(dir, 'zones'))).filter((f) => /\.tmp$/.test(f));
      expect(leftovers, 'temporary files left in zones/').to.deep.equal([]);
      // Writes that landed without an answer may be there too; nothing else is.
      for (const name of stored.keys()) expect(name === 'hand' || /^s\d+$/.test(name)).to.equal(true);
      await server.stop();
      server = undefined;
    }
    expect(acked.size).to.be.greaterThan(10);
  });
});
