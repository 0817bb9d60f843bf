import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runCli } from '../helpers/tools.js';

type Config = { clusters: Array<{ name: string; cluster: Record<string, unknown> }>; users: Array<{ user: Record<string, unknown> }>; contexts: Array<{ context: Record<string, unknown> }>; 'current-context': string };

describe('cli: svcdns kubeconfig', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'svcdns-kubeconfig-'));
    await writeFile(join(dir, 'token'), '# api token\nt0k3n\n');
    await writeFile(join(dir, 'empty'), '# nothing\n');
    await writeFile(join(dir, 'tls.crt'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const rows: Array<{ args: string[]; env?: Record<string, string>; code: number; check?: (c: Config) => void; err?: RegExp }> = [
    {
      args: [],
      code: 0,
      check: (c) => {
        expect(c.clusters[0]).to.deep.equal({ name: 'svcdns', cluster: { server: 'http://127.0.0.1:8080' } });
        expect(c.users[0]!.user).to.deep.equal({});
        expect(c.contexts[0]!.context).to.deep.equal({ cluster: 'svcdns', user: 'svcdns', namespace: 'default' });
        expect(c['current-context']).to.equal('svcdns');
      },
    },
    {
      args: ['--token-file', 'TOKEN', '--tls-cert-file', 'CERT', '-n', 'shop'],
      code: 0,
      check: (c) => {
        expect(c.clusters[0]!.cluster.server).to.equal('https://127.0.0.1:8080');
        expect(Buffer.from(String(c.clusters[0]!.cluster['certificate-authority-data']), 'base64').toString()).to.match(/^-----BEGIN CERTIFICATE-----/);
        expect(c.users[0]!.user).to.deep.equal({ token: 't0k3n' });
        expect(c.contexts[0]!.context.namespace).to.equal('shop');
      },
    },
    { args: [], env: { SVCDNS_TOKEN_FILE: 'TOKEN', SVCDNS_SERVER: 'https://192.0.2.1:8443' }, code: 0, check: (c) => expect([c.clusters[0]!.cluster.server, c.users[0]!.user.token]).to.deep.equal(['https://192.0.2.1:8443', 't0k3n']) },
    { args: ['--server', 'https://127.0.0.1:9443', '--insecure-skip-tls-verify'], code: 0, check: (c) => expect(c.clusters[0]!.cluster).to.deep.equal({ server: 'https://127.0.0.1:9443', 'insecure-skip-tls-verify': true }) },
    { args: ['--server', 'http://127.0.0.1:8080', '--token-file', 'TOKEN'], code: 2, err: /kubectl sends a token only over https/ },
    { args: ['--token-file', 'EMPTY'], code: 2, err: /holds no token/ },
    { args: ['--token-file', 'MISSING'], code: 2, err: /--token-file .*missing: ENOENT/ },
    { args: ['--server', 'not a url'], code: 2, err: /expected a URL/ },
    { args: ['--server', 'ftp://x'], code: 2, err: /expected http:\/\/ or https:\/\// },
  ];
  const expand = (a: string) => a.replace('TOKEN', join(dir, 'token')).replace('CERT', join(dir, 'tls.crt')).replace('EMPTY', join(dir, 'empty')).replace('MISSING', join(dir, 'missing'));
  for (const r of rows) {
    it(`svcdns kubeconfig ${r.args.join(' ')}${r.env ? ` with ${Object.keys(r.env).join(',')}` : ''}: exit ${r.code}`, async () => {
      const env = Object.fromEntries(Object.entries(r.env ?? {}).map(([k, v]) => [k, expand(v)]));
      const res = await runCli(['kubeconfig', ...r.args.map(expand)], env);
      expect(res.code, res.stderr).to.equal(r.code);
      if (r.err) expect(res.stderr).to.match(r.err);
      if (r.check) r.check(parse(res.stdout) as Config);
    });
  }
  it('--help', async () => {
    const res = await runCli(['kubeconfig', '--help']);
    expect(res.stdout).to.match(/Usage: svcdns kubeconfig/);
  });
});
