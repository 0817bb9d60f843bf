import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The Debian package of each external tool the tests use. */
const PACKAGES: Record<string, string> = { dig: 'bind9-dnsutils', dnsmasq: 'dnsmasq-base', ip: 'iproute2', unshare: 'util-linux', kubectl: 'kubernetes-client', etcd: 'etcd-server', etcdctl: 'etcd-client', 'systemd-analyze': 'systemd', python3: 'python3-minimal', setpriv: 'util-linux', script: 'bsdutils' };

/** toolPath finds a tool on PATH (and sbin); undefined when it is missing. */
export function toolPath(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    try {
      accessSync(join(d, name), constants.X_OK);
      return join(d, name);
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** requireTool returns a tool's path or fails the test naming the package to install: never a skip. */
export function requireTool(name: string): string {
  const p = toolPath(name);
  if (!p) throw new Error(`${name} is not installed: apt-get install -y ${PACKAGES[name] ?? name} (npm test installs it when run as root)`);
  return p;
}

/** dig runs dig against a server and returns its stdout. */
export async function dig(port: number, args: string[]): Promise<string> {
  const { stdout } = await run(requireTool('dig'), [`@127.0.0.1`, '-p', String(port), '+time=2', '+tries=1', ...args], { timeout: 10_000 });
  return stdout;
}

/** BIN is the svcdns command as installed (bin/svcdns.js over the built dist/). */
export const BIN = fileURLToPath(new URL('../../bin/svcdns.js', import.meta.url));

/**
 * childEnv is the environment of a svcdns child: forwarding is off unless a test asks for it, so
 * no test ever sends a query to the resolver of /etc/resolv.conf (it is off this machine).
 */
export function childEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...process.env, SVCDNS_UPSTREAM: process.env.SVCDNS_UPSTREAM ?? 'none', ...env };
}

/** runCli runs `svcdns ARGS` to completion. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: childEnv(env), timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** ServeProcess is a `svcdns serve` child and the DNS port it reported. */
export interface ServeProcess {
  child: ChildProcess;
  port: number;
  /** The TCP port (the same as the UDP one). */
  tcpPort: number;
  httpPort: number;
  output: () => string;
  stop: () => Promise<number | null>;
}

/** startServe spawns `svcdns serve ARGS` (HTTP on a free port unless given) and waits for its "serving DNS" log line. */
export function startServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  const all = args.includes('--http') ? args : [...args, '--http', '127.0.0.1:0'];
  // No lameduck unless a test asks for one: stop() would wait 5 s for nothing.
  const child = spawn(process.execPath, [BIN, 'serve', ...all], { env: childEnv({ SVCDNS_LAMEDUCK: '0', ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const stop = () =>
    new Promise<number | null>((resolve) => {
      if (child.exitCode !== null) return resolve(child.exitCode);
      child.once('exit', (code) => resolve(code));
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`svcdns serve did not start in time:\n${out}`));
    }, 20_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /"msg":"serving DNS"/.test(out) && /"udp":"[^"]*:(\d+)"/.exec(out);
      const h = /"http":"[^"]*:(\d+)"/.exec(out);
      const t = /"tcp":"[^"]*:(\d+)"/.exec(out);
      if (m && h) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), tcpPort: Number(t?.[1] ?? m[1]), httpPort: Number(h[1]), output: () => out, stop });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`svcdns serve exited with ${code}:\n${out}`), { code, output: out }));
    });
  });
}
