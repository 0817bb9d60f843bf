import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SAMPLE_ZONES } from '../helpers/server.js';
import { BIN } from '../helpers/tools.js';

const service = (ns: string, name: string, ip: string, port: number) =>
  `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n  clusterIP: ${ip}\n  ports:\n  - {name: http, port: ${port}}\n`;

/** waitFor polls until check() is true, or fails after `ms` (generous: no timing is asserted). */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('cli: env -o FILE --watch', function () {
  this.timeout(60_000);
  let dir: string;
  let zones: string;
  let out: string;
  let child: ChildProcess;
  let stderr = '';
  const lines = () => stderr.split('\n').filter(Boolean);
  const read = () => readFile(out, 'utf8').catch(() => '');

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'svcdns-watch-'));
    zones = join(dir, 'zones');
    out = join(dir, 'out', 'default.env');
    await cp(SAMPLE_ZONES, zones, { recursive: true });
    await mkdir(join(dir, 'out'));
    stderr = '';
    child = spawn(process.execPath, [BIN, 'env', '-n', 'default', '--zones', zones, '-o', out, '--watch'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor('the first write', () => lines().some((l) => l.includes(`wrote ${out}`)));
  });
  afterEach(async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('rewrites the file when a change changes it, and only then; SIGTERM exits 0', async () => {
    expect(await read()).to.include('MYSERVICE_SERVICE_HOST=10.0.0.50\n');
    const first = await stat(out);

    // A new Service in the namespace: new variables.
    await writeFile(join(zones, 'cluster.local', 'extra.yaml'), service('default', 'extra', '10.0.0.60', 8080));
    await waitFor('EXTRA_ variables', async () => (await read()).includes('EXTRA_SERVICE_HOST=10.0.0.60\n'));
    const second = await stat(out);
    expect(second.ino).to.not.equal(first.ino);

    // A Service in another namespace: the registry changed, the file did not.
    const before = lines().length;
    await writeFile(join(zones, 'cluster.local', 'other.yaml'), service('other', 'web', '10.0.0.70', 80));
    await waitFor('the "unchanged" report', () => lines().slice(before).some((l) => l.includes('unchanged')));
    const third = await stat(out);
    expect([third.ino, third.mtimeMs]).to.deep.equal([second.ino, second.mtimeMs]);

    // A broken file: the last good output stays, the problem is reported with file:line.
    const mark = lines().length;
    await writeFile(join(zones, 'cluster.local', 'broken.yaml'), 'kind: [oops\n');
    await waitFor('the problem report', () => lines().slice(mark).some((l) => l.includes('is kept as it was')));
    expect(lines().slice(mark).join('\n')).to.match(/broken\.yaml:2: /);
    expect((await stat(out)).ino).to.equal(second.ino);

    // Fixed by an editor-style save (write elsewhere, rename over): the change is picked up.
    await writeFile(join(dir, 'tmp.yaml'), service('default', 'extra', '10.0.0.61', 8080));
    await rm(join(zones, 'cluster.local', 'broken.yaml'));
    await rename(join(dir, 'tmp.yaml'), join(zones, 'cluster.local', 'extra.yaml'));
    await waitFor('the renamed file', async () => (await read()).includes('EXTRA_SERVICE_HOST=10.0.0.61\n'));

    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGTERM');
    });
    expect(code).to.equal(0);
    expect((await readdir(join(dir, 'out'))).filter((n) => n.endsWith('.tmp'))).to.deep.equal([]);
  });

  it('a reader never sees a partial file while it is rewritten', async () => {
    const a = await read();
    const extra = join(zones, 'cluster.local', 'extra.yaml');
    const versions = new Set([a]);
    const seen = new Map<string, number>();
    let reading = true;
    // Read the file as fast as the event loop allows, while the registry flips between two states.
    const reader = (async () => {
      while (reading) {
        let text = '';
        try {
          text = readFileSync(out, 'utf8');
        } catch {
          text = '<missing>';
        }
        seen.set(text, (seen.get(text) ?? 0) + 1);
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let i = 0; i < 6; i++) {
      await writeFile(extra, service('default', 'extra', `10.0.1.${i + 1}`, 8080));
      await waitFor(`version ${i}`, async () => (await read()).includes(`EXTRA_SERVICE_HOST=10.0.1.${i + 1}\n`));
      versions.add(await read());
    }
    await rm(extra);
    await waitFor('the original again', async () => (await read()) === a);
    reading = false;
    await reader;
    for (const text of seen.keys()) expect(versions.has(text), `a read saw something that was never a whole version:\n${text.slice(0, 200)}`).to.equal(true);
    expect(versions.size).to.equal(7);
    expect([...seen.values()].reduce((x, y) => x + y, 0)).to.be.greaterThan(50);
  });
});
