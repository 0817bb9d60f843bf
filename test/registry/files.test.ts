import { expect } from 'chai';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadZonesDir } from '../../src/registry/load.js';
import { splitDocuments } from '../../src/registry/sources/documents.js';
import { formatProblem } from '../../src/result.js';

describe('registry: splitting YAML documents', () => {
  const rows: Array<{ text: string; lines: number[] }> = [
    { text: 'a: 1\n', lines: [1] },
    { text: '---\na: 1\n---\nb: 2\n', lines: [1, 3] },
    { text: '# comment\n---\na: 1\n--- \nb: 2\n---\n', lines: [1, 4, 6] },
    { text: 'a: |\n  ---x\n---\nb: 2', lines: [1, 3] },
    { text: '--- {a: 1}\n--- {b: 2}\n', lines: [1, 2] },
  ];
  for (const r of rows) {
    it(JSON.stringify(r.text), () => {
      expect(splitDocuments(r.text).map((d) => d.line)).to.deep.equal(r.lines);
    });
  }
});

describe('registry: loading zone folders, with file:line for every problem', () => {
  let dir: string;
  const write = async (name: string, text: string) => {
    await mkdir(join(dir, 'cluster.local'), { recursive: true });
    await writeFile(join(dir, 'cluster.local', name), text);
  };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'svcdns-files-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const GOOD = 'apiVersion: v1\nkind: Service\nmetadata: {name: ok, namespace: shop}\nspec: {clusterIP: 10.96.0.9}\n';
  const rows: Array<{ desc: string; files: Record<string, string>; problems: string[]; services?: number }> = [
    { desc: 'a good file', files: { 'a.yaml': GOOD }, problems: [], services: 1 },
    {
      desc: 'YAML that does not parse: the other documents still load',
      files: { 'a.yaml': `${GOOD}---\napiVersion: v1\nkind: Service\nmetadata: {name: bad\n` },
      problems: ['a.yaml:9: unexpected end of the stream'],
      services: 1,
    },
    {
      desc: 'port 70000 points at the port line',
      files: { 'a.yaml': `${GOOD}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - name: http\n    port: 70000\n` },
      problems: ['a.yaml:13: spec.ports[0].port: must be a port number between 1 and 65535, not 70000'],
      services: 1,
    },
    {
      desc: 'a problem inside a List item',
      files: { 'l.yml': 'apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: x}\n  spec:\n    clusterIP: not-an-ip\n' },
      problems: ['l.yml:8: items[0].spec.clusterIP: must be a valid IP address or "None", not "not-an-ip"'],
      services: 0,
    },
    {
      desc: 'JSON with a syntax error',
      files: { 'a.json': '{\n  "apiVersion": "v1",\n  "kind": "Service",\n  "metadata": {"name": "x"}\n  "spec": {}\n}\n' },
      problems: ['a.json:5: '],
    },
    {
      desc: 'a duplicate object in another file',
      files: { 'a.yaml': GOOD, 'b.yaml': `# again\n${GOOD}` },
      problems: ['b.yaml:1: duplicate Service/shop/ok (first defined in'],
      services: 1,
    },
    { desc: 'a bad settings file', files: { '_settings.yaml': 'ttl: 9999\nservicecidrs: []\n' }, problems: ['_settings.yaml:1: ttl: must be a whole number between 0 and 3600', '_settings.yaml:2: servicecidrs: is not a zone setting'] },
    { desc: 'other files are not read', files: { 'README.md': '# not yaml: {', 'notes.txt': ':::' }, problems: [] },
  ];
  for (const r of rows) {
    it(r.desc, async () => {
      for (const [name, text] of Object.entries(r.files)) await write(name, text);
      const loaded = await loadZonesDir(dir);
      const got = loaded.problems.map(formatProblem).map((s) => s.slice(s.indexOf('cluster.local/') + 'cluster.local/'.length));
      expect(got.length, got.join('\n')).to.equal(r.problems.length);
      r.problems.forEach((p, i) => expect(got[i]).to.include(p));
      if (r.services !== undefined) expect(loaded.zones[0]?.content.services.length).to.equal(r.services);
    });
  }

  it('a missing zones folder says what to create', async () => {
    const loaded = await loadZonesDir(join(dir, 'nope'));
    expect(formatProblem(loaded.problems[0]!)).to.match(/cannot read the zones folder.*cluster\.local/);
  });
});
