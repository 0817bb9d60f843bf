/**
 * Runs inside a fresh network and mount namespace (`unshare --net --mount`, as root), so that it
 * can be a container's view of DNS: svcdns on 127.0.0.1:53, the pod resolv.conf from
 * `svcdns resolv-conf` (kubelet's format) bind-mounted over /etc/resolv.conf, and dnsmasq as the upstream on 127.0.0.2:53. Nothing here
 * can reach the machine's own network. It drives real resolver libraries (glibc through
 * `getent`, Node's dns.lookup) and prints one JSON report on stdout; the test asserts on it.
 *
 * Phases: (1) svcdns itself on port 53, with its upstream taken from a resolv.conf (the
 * default); (2) and (3) a counting relay on port 53 in front of svcdns without and with
 * --autopath, to count the queries each lookup costs and to compare the answers.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { exampleOrg, startDnsmasq } from './dnsmasq.js';
import { SAMPLE_ZONES } from './server.js';
import { BIN } from './tools.js';

const run = promisify(execFile);

/** The names looked up, as a pod in namespace default writes them. */
export const NAMES = ['myservice', 'db.data', 'myservice.default.svc.cluster.local', 'host.example.org', 'db.lab', 'nosuch.example.org'];

/** How each lookup is made: getent (glibc) in three ways, and Node's dns.lookup (getaddrinfo). */
export const LOOKUPS = ['getent ahosts', 'getent ahostsv4', 'getent hosts', 'node dns.lookup'] as const;

/** Report is what the driver prints. */
export interface Report {
  /** The pod resolv.conf `svcdns resolv-conf` wrote, used by every lookup. */
  podResolvConf?: string;
  direct: Record<string, string>;
  counted: Record<'plain' | 'autopath', Record<string, { answer: string; queries: number }>>;
  errors: string[];
}

async function lookup(how: (typeof LOOKUPS)[number], name: string): Promise<string> {
  try {
    if (how === 'node dns.lookup') {
      const script = `require('dns').lookup(process.argv[1], { all: true }, (e, a) => console.log(e ? e.code : a.map((x) => x.address).sort().join(' ')))`;
      return (await run(process.execPath, ['-e', script, name], { timeout: 20_000 })).stdout.trim();
    }
    const [cmd, db] = how.split(' ') as [string, string];
    const { stdout } = await run(cmd, [db, name], { timeout: 20_000 });
    return stdout.trim().split('\n').map((l) => l.trim().replace(/\s+/g, ' ')).sort().join(' | ');
  } catch (err) {
    const e = err as { code?: number | string };
    return `error ${e.code ?? 'unknown'}`; // getent exits 2 when the name is not found
  }
}

/** Counting relay on 127.0.0.1:53 (UDP and TCP) in front of svcdns on another port. */
async function relay(target: number): Promise<{ count: () => number; reset: () => void; close: () => Promise<void> }> {
  let n = 0;
  const udp = dgram.createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    n++;
    const out = dgram.createSocket('udp4');
    out.on('message', (reply) => {
      udp.send(reply, rinfo.port, rinfo.address);
      out.close();
    });
    out.send(msg, target, '127.0.0.1');
    setTimeout(() => {
      try {
        out.close();
      } catch {
        // answered and closed already
      }
    }, 10_000).unref();
  });
  await new Promise<void>((r) => udp.bind(53, '127.0.0.1', () => r()));
  const tcp = net.createServer((c) => {
    const up = net.connect(target, '127.0.0.1');
    let pending = Buffer.alloc(0);
    c.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        n++;
        pending = pending.subarray(2 + pending.readUInt16BE(0));
      }
      up.write(d);
    });
    up.pipe(c);
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
  });
  await new Promise<void>((r) => tcp.listen(53, '127.0.0.1', () => r()));
  return {
    count: () => n,
    reset: () => (n = 0),
    close: () => new Promise((r) => (udp.close(), tcp.close(() => r()))),
  };
}

function serve(args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--zones', SAMPLE_ZONES, '--http', '127.0.0.1:0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`svcdns did not start:\n${out}`)), 15_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('"msg":"serving DNS"')) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`svcdns exited with ${code}:\n${out}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((r) => {
    child.once('exit', () => r());
    child.kill('SIGTERM');
  });
}

async function main(): Promise<void> {
  const report: Report = { direct: {}, counted: { plain: {}, autopath: {} }, errors: [] };
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
  // A dual-stack pod's own addresses (on lo: no other link type exists here), so that glibc's
  // AI_ADDRCONFIG sees an IPv4 and an IPv6 address and asks for both families.
  execFileSync('ip', ['addr', 'add', '192.0.2.200/32', 'dev', 'lo']);
  execFileSync('ip', ['-6', 'addr', 'add', '2001:db8::200/128', 'dev', 'lo']);
  const dir = mkdtempSync(join(tmpdir(), 'svcdns-container-'));
  // The node's resolv.conf (svcdns's upstream, and the node search domain kubelet appends), and
  // the pod's from `svcdns resolv-conf`, as kubelet writes it for a ClusterFirst pod in default.
  writeFileSync(join(dir, 'node-resolv.conf'), 'nameserver 127.0.0.2\nsearch corp.test\n');
  const podConf = join(dir, 'pod-resolv.conf');
  execFileSync(process.execPath, [BIN, 'resolv-conf', '--namespace', 'default', '--zones', SAMPLE_ZONES, '--nameserver', '127.0.0.1', '--host-resolv', join(dir, 'node-resolv.conf'), '-o', podConf]);
  report.podResolvConf = readFileSync(podConf, 'utf8');
  execFileSync('mount', ['--bind', podConf, '/etc/resolv.conf']);
  const dm = await startDnsmasq([...exampleOrg('127.0.0.2'), '--auth-zone=corp.test', '--host-record=db.lab.corp.test,192.0.2.55'], 53, '127.0.0.2');
  try {
    // (1) svcdns on port 53, upstream from a resolv.conf (no --upstream).
    const svc = await serve(['--dns', '127.0.0.1:53', '--resolv-conf', join(dir, 'node-resolv.conf')]);
    try {
      for (const name of ['myservice', 'db.data', 'host.example.org']) {
        report.direct[`getent ahosts ${name}`] = await lookup('getent ahosts', name);
        report.direct[`node dns.lookup ${name}`] = await lookup('node dns.lookup', name);
      }
    } finally {
      await stop(svc);
    }
    // (2), (3): the same lookups through a counting relay, without and with autopath.
    for (const mode of ['plain', 'autopath'] as const) {
      const svcPort = mode === 'plain' ? 1053 : 1054;
      const svc = await serve(['--dns', `127.0.0.1:${svcPort}`, '--resolv-conf', join(dir, 'node-resolv.conf'), ...(mode === 'autopath' ? ['--autopath'] : [])]);
      const counter = await relay(svcPort);
      try {
        for (const how of LOOKUPS) {
          for (const name of NAMES) {
            counter.reset();
            const answer = await lookup(how, name);
            report.counted[mode][`${how} ${name}`] = { answer, queries: counter.count() };
          }
        }
      } finally {
        await counter.close();
        await stop(svc);
      }
    }
  } catch (err) {
    report.errors.push(String((err as Error).stack ?? err));
  } finally {
    await dm.stop();
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

await main();
