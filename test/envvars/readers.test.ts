import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv, promisify } from 'node:util';
import { renderEnv } from '../../src/envvars/render.js';
import { fixtureZone } from '../helpers/zone.js';

const run = promisify(execFile);

/** bashEnv sources a file with `set -a` in a clean bash and returns the environment it exports. */
async function bashEnv(file: string): Promise<Map<string, string>> {
  const { stdout } = await run('/usr/bin/env', ['-i', 'bash', '-c', 'set -a; . "$1"; env -0', 'bash', file], { timeout: 10_000 });
  const out = new Map<string, string>();
  for (const entry of stdout.split('\0').filter(Boolean)) out.set(entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1));
  return out;
}

describe('envvars: the env file reads the same in util.parseEnv and bash', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'svcdns-readers-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const rows = [
    { ns: 'default', format: 'env' as const },
    { ns: 'team-a', format: 'env' as const },
    { ns: 'team-b', format: 'env' as const },
    { ns: 'kube-system', format: 'env' as const },
    { ns: 'team-b', format: 'shell' as const },
  ];
  for (const r of rows) {
    it(`${r.ns} (${r.format}): parseEnv and bash 'set -a; . FILE' give exactly the rendered values`, async () => {
      const rendered = renderEnv(fixtureZone(), { namespace: r.ns, format: r.format });
      const file = join(dir, `${r.ns}.${r.format}`);
      await writeFile(file, rendered.text);
      const want = Object.fromEntries([...rendered.vars].sort());
      const fromBash = await bashEnv(file);
      const bashOurs = Object.fromEntries([...fromBash].filter(([k]) => rendered.vars.has(k)).sort());
      expect(bashOurs, 'bash').to.deep.equal(want);
      const parsed = parseEnv(rendered.text);
      expect(Object.fromEntries(Object.entries(parsed).sort()), 'util.parseEnv').to.deep.equal(want);
      expect(Object.keys(want).length).to.be.greaterThan(7);
    });
  }
});
