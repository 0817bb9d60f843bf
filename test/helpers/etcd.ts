/**
 * A real etcd for tests and benchmarks (Debian's etcd-server): one member on free loopback ports,
 * a temporary data dir, stopped by PID. It can be killed (SIGKILL) and started again on the same
 * data dir and ports, which is how tests take etcd away under running replicas.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { requireTool } from './tools.js';

/** EtcdServer is a running (or stopped) single-member etcd. */
export interface EtcdServer {
  /** The client URL, e.g. http://127.0.0.1:40123. */
  url: string;
  clientPort: number;
  dataDir: string;
  /** The PID of the running etcd, or undefined while it is stopped. */
  pid(): number | undefined;
  /** etcd's own log (stderr), for failure messages. */
  output(): string;
  /** kill stops etcd at once with SIGKILL (no clean shutdown), keeping the data dir. */
  kill(): Promise<void>;
  /**
   * restart starts etcd again on the same ports and waits until it is healthy: on the same data
   * dir, or on an empty one with `fresh` (a new cluster, as after a restore or a rebuild).
   */
  restart(fresh?: boolean): Promise<void>;
  /** stop ends etcd (SIGTERM) and removes the data dir. */
  stop(): Promise<void>;
}

/** freePort asks the kernel for a free loopback port (bound, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** startEtcd starts a one-member etcd on free loopback ports (or the given client port) and waits for /health. */
export async function startEtcd({ clientPort: wanted }: { clientPort?: number } = {}): Promise<EtcdServer> {
  const bin = requireTool('etcd');
  // SVCDNS_TEST_ETCD_DIR=/dev/shm: etcd on tmpfs (benchmarks that leave the disk's fsync out).
  const dataDir = await mkdtemp(join(process.env.SVCDNS_TEST_ETCD_DIR ?? tmpdir(), 'svcdns-etcd-'));
  let lastError: Error | undefined;
  // Free ports can be taken between the probe and etcd's bind; try a few pairs.
  for (let attempt = 0; attempt < 4; attempt++) {
    const clientPort = wanted ?? (await freePort());
    const peerPort = await freePort();
    const server = new Etcd(bin, join(dataDir, 'member'), clientPort, peerPort, dataDir);
    try {
      await server.launch();
      return server;
    } catch (err) {
      lastError = err as Error;
      await server.kill();
      await rm(join(dataDir, 'member'), { recursive: true, force: true });
    }
  }
  await rm(dataDir, { recursive: true, force: true });
  throw lastError ?? new Error('etcd did not start');
}

class Etcd implements EtcdServer {
  readonly url: string;
  private child: ChildProcess | undefined;
  private log = '';
  private detached = false;

  constructor(
    private readonly bin: string,
    private readonly memberDir: string,
    readonly clientPort: number,
    private readonly peerPort: number,
    readonly dataDir: string,
  ) {
    this.url = `http://127.0.0.1:${clientPort}`;
  }

  pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  output(): string {
    return this.log;
  }

  /** detach lets the test process exit while etcd runs (the shared instance is killed on exit). */
  detach(): void {
    this.detached = true;
    this.unrefChild();
  }

  private unrefChild(): void {
    if (!this.detached || !this.child) return;
    this.child.unref();
    (this.child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
    (this.child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  }

  async launch(): Promise<void> {
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const child = spawn(
      this.bin,
      [
        '--name', 'svcdns-test',
        '--data-dir', this.memberDir,
        '--listen-client-urls', this.url,
        '--advertise-client-urls', this.url,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `svcdns-test=${peer}`,
        '--initial-cluster-state', 'new',
        '--logger', 'zap',
        '--log-level', 'warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    this.unrefChild();
    const keep = (d: Buffer) => {
      this.log = (this.log + d.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const until = Date.now() + 15_000;
    while (Date.now() < until) {
      if (child.exitCode !== null) throw new Error(`etcd exited with ${child.exitCode}:\n${this.log}`);
      try {
        const res = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(1000) });
        const body = (await res.json()) as { health?: string };
        if (body.health === 'true') return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`etcd did not become healthy in 15 s:\n${this.log}`);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      process.kill(child.pid!, signal);
    });
  }

  async restart(fresh = false): Promise<void> {
    await this.kill();
    if (fresh) await rm(this.memberDir, { recursive: true, force: true });
    await this.launch();
  }

  async stop(): Promise<void> {
    await this.kill('SIGTERM');
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

let shared: Promise<EtcdServer> | undefined;

/**
 * sharedEtcd is one etcd for every test file that only needs "an etcd" (each test uses its own
 * key prefix). It does not keep the process alive, and is killed when the test run exits.
 */
export function sharedEtcd(): Promise<EtcdServer> {
  shared ??= startEtcd().then((server) => {
    (server as Etcd).detach();
    process.once('exit', () => {
      const pid = server.pid();
      if (pid) process.kill(pid, 'SIGKILL');
      rmSync(server.dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }); // etcd may still be writing as it dies
    });
    return server;
  });
  return shared;
}

/** etcdClient opens a plain etcd3 client (for test set-up and checks); close it when done. */
export function etcdClient(url: string): Etcd3 {
  return new Etcd3({ hosts: url });
}

/** seedZone creates a zone's settings key, as `svcdns import` would. */
export async function seedZone(url: string, prefix: string, zone: string, settings: Record<string, unknown> = {}): Promise<void> {
  const c = etcdClient(url);
  try {
    await c.put(`${prefix}/zones/${zone}`).value(JSON.stringify(settings));
  } finally {
    c.close();
  }
}
