import { expect } from 'chai';
import { mkdtemp, mkdir, writeFile, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SAMPLE_ZONES } from '../helpers/server.js';
import { dig, runCli, startServe } from '../helpers/tools.js';

const BAD_SERVICE = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  clusterIP: 10.96.0.7\n  ports:\n  - name: http\n    port: 70000\n';
const GOOD_SERVICE = 'apiVersion: v1\nkind: Service\nmetadata: {name: ok, namespace: shop}\nspec: {clusterIP: 10.96.0.9}\n';

describe('cli', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'svcdns-cli-'));
    await mkdir(join(dir, 'bad', 'cluster.local'), { recursive: true });
    await writeFile(join(dir, 'bad', 'cluster.local', 'svc.yaml'), `${GOOD_SERVICE}---\n${BAD_SERVICE}---\nkind: [oops\n`);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const rows: Array<{ args: string[]; env?: Record<string, string>; code: number; out?: RegExp; err?: RegExp }> = [
    { args: ['--version'], code: 0, out: /^\d+\.\d+\.\d+\n$/ },
    { args: ['--help'], code: 0, out: /Commands:\n\s+serve .*\n\s+check /s },
    { args: [], code: 2, out: /Usage: svcdns <command>/ },
    { args: ['frobnicate'], code: 2, err: /unknown command "frobnicate"/ },
    { args: ['serve', '--help'], code: 0, out: /--dns HOST:PORT.*default 127\.0\.0\.1:1053/ },
    { args: ['serve', '--no-such-flag'], code: 2, err: /Unknown option '--no-such-flag'/ },
    { args: ['check', '--zones', SAMPLE_ZONES], code: 0, out: /^OK: cluster\.local: 4 services, 3 endpoint slices/ },
    { args: ['check'], env: { SVCDNS_ZONES: SAMPLE_ZONES }, code: 0, out: /^OK: cluster\.local/ },
  ];
  for (const r of rows) {
    it(`svcdns ${r.args.join(' ')}${r.env ? ` with ${Object.keys(r.env).join(',')}` : ''}: exit ${r.code}`, async () => {
      const res = await runCli(r.args, r.env);
      expect(res.code, res.stderr).to.equal(r.code);
      if (r.out) expect(res.stdout).to.match(r.out);
      if (r.err) expect(res.stderr).to.match(r.err);
    });
  }

  it('check lists every problem as file:line: message and exits 1', async () => {
    const res = await runCli(['check', '--zones', join(dir, 'bad')]);
    expect(res.code).to.equal(1);
    const lines = res.stdout.trim().split('\n');
    expect(lines[0]).to.equal(`${join(dir, 'bad', 'cluster.local', 'svc.yaml')}:15: spec.ports[0].port: must be a port number between 1 and 65535, not 70000`);
    expect(lines[1]).to.match(/svc\.yaml:18: /);
    expect(lines[2]).to.equal('2 problems in 1 file');
  });

  it('serve refuses a registry with problems, saying how to go on', async () => {
    const err = await startServe(['--zones', join(dir, 'bad'), '--dns', '127.0.0.1:0']).then(
      () => null,
      (e: Error & { code?: number; output?: string }) => e,
    );
    expect(err?.code).to.equal(2);
    expect(err?.output).to.match(/svc\.yaml:15: spec\.ports\[0\]\.port: must be a port number/);
    expect(err?.output).to.match(/refusing to start: 2 problem\(s\).*--skip-invalid/);
  });

  it('serve --skip-invalid serves the valid objects', async () => {
    const s = await startServe(['--zones', join(dir, 'bad'), '--dns', '127.0.0.1:0', '--skip-invalid']);
    try {
      expect((await dig(s.port, ['+short', 'ok.shop.svc.cluster.local'])).trim()).to.equal('10.96.0.9');
      expect(await dig(s.port, ['web.shop.svc.cluster.local'])).to.match(/status: NXDOMAIN/);
    } finally {
      expect(await s.stop()).to.equal(0);
    }
  });

  it('serve: the README quick start answers myservice, and SIGTERM exits 0', async () => {
    const s = await startServe(['--dns', '127.0.0.1:0'], { SVCDNS_ZONES: SAMPLE_ZONES });
    try {
      expect((await dig(s.port, ['+short', 'myservice.default.svc.cluster.local'])).trim()).to.equal('10.0.0.50');
      expect((await dig(s.port, ['+short', 'SRV', '_http._tcp.myservice.default.svc.cluster.local'])).trim()).to.equal('0 100 80 myservice.default.svc.cluster.local.');
      const log = s.output().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; module?: string });
      expect(log.map((l) => l.msg)).to.include.members(['registry loaded', 'serving DNS']);
      for (const path of ['/health', '/ready']) {
        const res = await fetch(`http://127.0.0.1:${s.httpPort}${path}`);
        expect([path, res.status, await res.text()]).to.deep.equal([path, 200, 'OK']);
      }
      expect((await fetch(`http://127.0.0.1:${s.httpPort}/nope`)).status).to.equal(404);
    } finally {
      expect(await s.stop()).to.equal(0);
    }
  });

  it('the README shows the two commands first', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const first = readme.slice(0, readme.indexOf('\n## ', readme.indexOf('\n## ') + 1));
    expect(first).to.include('npm ci && npm start').and.include('npm test');
  });
});
