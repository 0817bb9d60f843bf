import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { parseEnv, promisify } from 'node:util';
import { parseFlags } from '../../src/cli/args.js';
import { SERVE_FLAGS, serveConfig } from '../../src/cli/serve.js';
import { SAMPLE_ZONES } from '../helpers/server.js';
import { BIN, requireTool } from '../helpers/tools.js';

const run = promisify(execFile);
const UNIT = new URL('../../packaging/svcdns.service', import.meta.url);
const ENV = new URL('../../packaging/svcdns.env', import.meta.url);

describe('packaging: the systemd unit and its environment file', () => {
  it('systemd-analyze verify finds nothing to say', async () => {
    const { stdout, stderr } = await run(requireTool('systemd-analyze'), ['verify', UNIT.pathname], { timeout: 30_000 });
    expect(stdout + stderr).to.equal('');
  });

  it('systemd-analyze security rates its exposure "OK" (at most 2.0 of 10)', async () => {
    const { stdout } = await run(requireTool('systemd-analyze'), ['security', '--offline=true', UNIT.pathname], { timeout: 30_000 });
    const m = /Overall exposure level for svcdns\.service: ([\d.]+) (\w+)/.exec(stdout);
    expect(m, stdout).to.not.equal(null);
    expect(Number(m![1])).to.be.at.most(2.0);
  });

  it('runs as a dynamic user with only CAP_NET_BIND_SERVICE, and never denies W+X memory (V8 needs it)', async () => {
    const unit = await readFile(UNIT, 'utf8');
    for (const line of ['DynamicUser=yes', 'AmbientCapabilities=CAP_NET_BIND_SERVICE', 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE', 'ProtectSystem=strict', 'EnvironmentFile=-/etc/svcdns/svcdns.env', 'KillSignal=SIGTERM']) {
      expect(unit.split('\n')).to.include(line);
    }
    expect(unit).to.not.match(/^MemoryDenyWriteExecute=yes/m);
  });

  it('every line of svcdns.env is a serve flag with a valid value (as systemd and docker --env-file read it)', async () => {
    const env = parseEnv(await readFile(ENV, 'utf8'));
    const known = Object.keys(SERVE_FLAGS).map((f) => `SVCDNS_${f.replace(/-/g, '_').toUpperCase()}`);
    expect(Object.keys(env).filter((k) => !known.includes(k))).to.deep.equal([]);
    const c = serveConfig(parseFlags([], env, SERVE_FLAGS).values);
    expect([c.dns, c.zonesDir, c.lameduckMs]).to.deep.equal([{ host: '0.0.0.0', port: 53 }, '/var/lib/svcdns/zones', 5000]);
  });

  it('port 53 as an unprivileged user: refused without the capability (with a hint), served with it (ambient, as the unit grants it)', async () => {
    const setpriv = requireTool('setpriv');
    // A loopback address of its own, so that no other test's port 53 can clash.
    const addr = `127.53.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
    const base = ['--reuid=nobody', '--regid=nogroup', '--clear-groups'];
    const args = [process.execPath, BIN, 'serve', '--zones', SAMPLE_ZONES, '--dns', `${addr}:53`, '--http', '127.0.0.1:0', '--lameduck', '0', '--upstream', 'none'];
    const denied = await run(setpriv, [...base, ...args], { timeout: 20_000 }).then(
      () => null,
      (e: { code?: number; stdout?: string }) => e,
    );
    expect(denied?.code).to.equal(2);
    expect(denied?.stdout).to.match(/EACCES.*need CAP_NET_BIND_SERVICE/);
    const child = spawn(setpriv, [...base, '--inh-caps=+net_bind_service', '--ambient-caps=+net_bind_service', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const until = Date.now() + 15_000;
      while (!/serving DNS/.test(out) && Date.now() < until && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      expect(out).to.match(/serving DNS/);
      const { stdout } = await run(requireTool('dig'), [`@${addr}`, '-p', '53', '+time=2', '+tries=1', '+short', 'myservice.default.svc.cluster.local'], { timeout: 10_000 });
      expect(stdout.trim()).to.equal('10.0.0.50');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});
