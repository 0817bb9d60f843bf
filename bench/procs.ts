/**
 * Processes under test: starting a server pinned to one CPU, waiting until it answers, reading
 * its CPU time and memory from /proc, and limiting its CPU with a cgroup quota.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Server is a started server process and what it printed. */
export interface Server {
  name: string;
  child: ChildProcess;
  pid: number;
  port: number;
  output: () => string;
  stop(): Promise<void>;
}

/** freePort asks the kernel for a free TCP port on 127.0.0.1 (the UDP one is then free too in practice). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** startPinned runs `cmd args` on CPU `cpu` (taskset) and keeps its output for error messages. */
export function startPinned(name: string, cpu: string, cmd: string, args: string[], port: number, env: NodeJS.ProcessEnv = process.env): Server {
  const child = spawn('taskset', ['-c', cpu, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    name,
    child,
    pid: child.pid ?? -1, // taskset execs the command: same pid
    port,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 8000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

/** A DNS query for `name` type A, ID 1, no EDNS. */
function aQuery(name: string): Buffer {
  const labels = name.split('.').flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]);
  return Buffer.concat([Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

/**
 * waitAnswering asks `name` over UDP every 100 ms until an answer with rcode NOERROR comes (any
 * reply with `anyReply`), the process exits, or `timeoutMs` passes. It returns the ms it took.
 */
export async function waitAnswering(server: Server, name: string, timeoutMs: number, anyReply = false): Promise<number> {
  const started = performance.now();
  const sock = dgram.createSocket('udp4');
  const q = aQuery(name);
  try {
    return await new Promise<number>((resolve, reject) => {
      const tick = setInterval(() => {
        if (server.child.exitCode !== null) return fail(`${server.name} exited (${server.child.exitCode}):\n${server.output().slice(-3000)}`);
        if (performance.now() - started > timeoutMs) return fail(`${server.name} did not answer ${name} within ${timeoutMs} ms:\n${server.output().slice(-3000)}`);
        sock.send(q, server.port, '127.0.0.1');
      }, 100);
      const fail = (msg: string) => {
        clearInterval(tick);
        reject(new Error(msg));
      };
      sock.on('message', (m) => {
        if (m.length >= 12 && (anyReply || ((m[3]! & 0x0f) === 0 && m.readUInt16BE(6) > 0))) {
          clearInterval(tick);
          resolve(performance.now() - started);
        }
      });
    });
  } finally {
    sock.close();
  }
}

const TICK = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

/** cpuSeconds is the user+system CPU time of a process and its reaped children (dnsmasq forks for TCP). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14-17 of proc(5): utime, stime, cutime, cstime (f[0] is field 3).
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICK;
  } catch {
    return NaN;
  }
}

/** memory gives a process's resident set and its peak, in MiB. */
export function memory(pid: number): { rssMiB: number; peakMiB: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 };
  } catch {
    return { rssMiB: NaN, peakMiB: NaN };
  }
}

/** CpuLimiter puts processes under a CPU quota (a share of one core). */
export interface CpuLimiter {
  /** How the quota is applied, for the results. */
  method: string;
  /** limit puts pid (and its future children) under the quota. */
  limit(pid: number): void;
  /** release takes pid out again (back to the root group). */
  release(pid: number): void;
  close(): void;
}

/**
 * cpuLimiter finds a way to cap a process at `pct`% of one core: a cgroup v2 group (cpu.max), a
 * cgroup v1 cpu group (cfs_quota_us), or `systemd-run --scope -p CPUQuota=` where systemd runs.
 * Null when none works (the results then say per-core figures come from QPS / CPU share).
 */
export function cpuLimiter(pct: number): CpuLimiter | null {
  const name = `svcdns-bench-${process.pid}`;
  const period = 100_000;
  const quota = Math.round((period * pct) / 100);
  const tryGroup = (root: string, setup: (dir: string) => void, method: string): CpuLimiter | null => {
    const dir = `${root}/${name}`;
    try {
      if (!existsSync(root)) return null;
      mkdirSync(dir);
      setup(dir);
      return {
        method,
        limit: (pid) => writeFileSync(`${dir}/cgroup.procs`, String(pid)),
        release: (pid) => {
          try {
            writeFileSync(`${root}/cgroup.procs`, String(pid));
          } catch {
            // the process is gone
          }
        },
        close: () => {
          try {
            rmdirSync(dir);
          } catch {
            // still has processes (they are stopped by now) or already gone
          }
        },
      };
    } catch {
      try {
        rmdirSync(dir);
      } catch {
        // not created
      }
      return null;
    }
  };
  const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers')
    ? tryGroup('/sys/fs/cgroup', (dir) => writeFileSync(`${dir}/cpu.max`, `${quota} ${period}`), `cgroup v2 cpu.max ${quota}/${period} µs (${pct}% of one core)`)
    : null;
  if (v2) return v2;
  const v1 = tryGroup(
    '/sys/fs/cgroup/cpu',
    (dir) => {
      writeFileSync(`${dir}/cpu.cfs_period_us`, String(period));
      writeFileSync(`${dir}/cpu.cfs_quota_us`, String(quota));
    },
    `cgroup v1 cpu.cfs_quota_us ${quota}/${period} µs (${pct}% of one core)`,
  );
  if (v1) return v1;
  // systemd-run can only put a new command under a quota; the caller checks `systemdRunWorks`.
  return null;
}

/** systemdRunWorks says whether `systemd-run --scope -p CPUQuota=` can start commands here. */
export function systemdRunWorks(): boolean {
  const r = spawnSync('systemd-run', ['--scope', '--quiet', '-p', 'CPUQuota=50%', 'true'], { stdio: 'ignore', timeout: 5000 });
  return r.status === 0;
}

/** missingTools lists the commands of `tools` not on PATH. */
export function missingTools(tools: readonly string[]): string[] {
  return tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0);
}
