/**
 * `serve --workers N`: N processes answering DNS on the same sockets (node:cluster; Node 20 has no
 * UDP reusePort, so the primary holds the UDP and TCP handles and every worker reads from them).
 * Each worker loads and follows the registry itself (files or etcd), so a change reaches all of
 * them. Worker 0 alone runs the HTTP listener (API writes and allocation stay single-writer,
 * /health, /ready, /metrics); its /metrics sums the DNS counters of every worker, and its /ready
 * waits for every worker to serve. The primary only starts, restarts and stops workers.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, Registry as PromRegistry } from 'prom-client';
import type { Logger } from '../log.js';
import type { MetricsRegistry } from '../ops/metrics.js';
import type { Readiness } from '../ops/readiness.js';

/** The environment variable that tells a worker its index (set by the primary, read in src/cli only). */
export const WORKER_INDEX_ENV = 'SVCDNS_WORKER_INDEX';

/** What one worker's registry.getMetricsAsJSON() gives. */
type MetricsJson = Awaited<ReturnType<MetricsRegistry['getMetricsAsJSON']>>;

/** Messages between the primary and the workers. */
type Message =
  | { svcdns: 'serving' }
  | { svcdns: 'workers'; serving: number; total: number }
  | { svcdns: 'stop' }
  | { svcdns: 'metrics?'; id: number }
  | { svcdns: 'metrics'; id: number; json: MetricsJson }
  | { svcdns: 'metrics!'; id: number; all: MetricsJson[] };

function isMessage(m: unknown): m is Message {
  return typeof m === 'object' && m !== null && typeof (m as { svcdns?: unknown }).svcdns === 'string';
}

// Sending to a worker that is exiting (or from one whose primary is gone) would throw
// ERR_IPC_CHANNEL_CLOSED as an 'error' event: a message to a gone process has nowhere to go.
function send(w: Worker | undefined, m: Message): void {
  if (w && w.isConnected()) w.send(m, undefined, () => undefined);
}
function toPrimary(m: Message): void {
  if (process.connected) process.send?.(m, undefined, undefined, () => undefined);
}

/** WorkerRole is what a worker knows of its place: its index (0 runs HTTP) and how many there are. */
export interface WorkerRole {
  index: number;
  total: number;
}

/** workerRole returns the role of this process when it is a cluster worker, else undefined. */
export function workerRole(env: NodeJS.ProcessEnv, total: number): WorkerRole | undefined {
  if (!cluster.isWorker) return undefined;
  const index = Number(env[WORKER_INDEX_ENV] ?? '0');
  return { index: Number.isInteger(index) && index >= 0 ? index : 0, total };
}

/**
 * runPrimary forks `total` workers and keeps them running until SIGTERM/SIGINT, which it passes
 * on (each worker then runs its lameduck and drains); it resolves with the exit code once all are gone.
 * A worker that dies on its own is started again (after 1 s, more if it keeps dying); one that
 * dies before it ever served stops them all (exit code 2): starting it again would fail too.
 */
export function runPrimary(total: number, log: Logger): Promise<number> {
  const plog = log.child({ module: 'workers' });
  // Workers accept TCP connections themselves on the shared handle (no round robin through the
  // primary, which would put every connection through one more process).
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  const workers: Array<Worker | undefined> = [];
  const serving = new Set<number>();
  let stopping = false;
  let failures = 0;
  let settle: (code: number) => void = () => undefined;
  const everServed = new Set<number>();
  let nextId = 1;
  const pending = new Map<number, { want: number; got: MetricsJson[]; timer: NodeJS.Timeout; reply: (got: MetricsJson[]) => void }>();

  const tellZero = () => send(workers[0], { svcdns: 'workers', serving: serving.size, total });
  const fork = (index: number) => {
    const w = cluster.fork({ [WORKER_INDEX_ENV]: String(index) });
    workers[index] = w;
    w.on('error', (err) => plog.warn({ err, worker: index }, 'worker channel error'));
    w.on('message', (m: unknown) => {
      if (!isMessage(m)) return;
      if (m.svcdns === 'serving') {
        serving.add(index);
        everServed.add(index);
        plog.info({ worker: index, pid: w.process.pid, serving: serving.size, total }, 'worker serving');
        tellZero();
      } else if (m.svcdns === 'metrics?') {
        // Worker 0 scrapes: collect the other workers' DNS metrics and hand them back.
        const others = workers.filter((o, i): o is Worker => i !== 0 && o !== undefined && serving.has(i));
        const id = nextId++;
        const reply = (got: MetricsJson[]) => send(w, { svcdns: 'metrics!', id: m.id, all: got });
        if (others.length === 0) return reply([]);
        const timer = setTimeout(() => {
          const p = pending.get(id);
          pending.delete(id);
          if (p) reply(p.got); // a worker that does not answer in time is left out of this scrape
        }, 2000);
        pending.set(id, { want: others.length, got: [], timer, reply });
        for (const o of others) send(o, { svcdns: 'metrics?', id });
      } else if (m.svcdns === 'metrics') {
        const p = pending.get(m.id);
        if (!p) return;
        p.got.push(m.json);
        if (p.got.length === p.want) {
          clearTimeout(p.timer);
          pending.delete(m.id);
          p.reply(p.got);
        }
      }
    });
    w.on('exit', (code, signal) => {
      serving.delete(index);
      if (workers[index] === w) workers[index] = undefined;
      tellZero();
      if (stopping) return;
      if (!everServed.has(index)) {
        // It failed while starting (bad registry, port taken): starting it again would fail too.
        plog.fatal({ worker: index, code, signal }, 'a worker failed to start; stopping the others');
        stopAll('SIGTERM', 2);
        return;
      }
      // Back off (1 s more per failure, at most 10 s) so a worker that keeps dying does not spin.
      const delay = Math.min(1000 * ++failures, 10_000);
      plog.error({ worker: index, code, signal, restart_ms: delay }, 'worker exited; starting it again');
      setTimeout(() => !stopping && fork(index), delay);
    });
  };
  for (let i = 0; i < total; i++) fork(i);
  plog.info({ workers: total }, 'started DNS workers (worker 0 also serves HTTP)');

  const stopAll = (signal: string, code: number) => {
    if (stopping) {
      // A second signal cuts the workers' lameduck short, as it does for one process.
      for (const w of workers) w?.process.kill(signal as NodeJS.Signals);
      return;
    }
    stopping = true;
    plog.info({ signal }, 'stopping the workers');
    for (const w of workers) send(w, { svcdns: 'stop' });
    const check = () => {
      if (workers.every((w) => w === undefined)) settle(code);
    };
    cluster.on('exit', check);
    check();
  };
  return new Promise<number>((resolve) => {
    settle = resolve;
    process.on('SIGTERM', () => stopAll('SIGTERM', 0));
    process.on('SIGINT', () => stopAll('SIGINT', 0));
    process.on('SIGHUP', () => {
      for (const w of workers) w?.process.kill('SIGHUP');
    });
  });
}

/** dnsOnlyRegistry is the registry a worker shares with worker 0's scrapes: only its DNS counters, summed there. */
export function dnsOnlyRegistry(): MetricsRegistry {
  return new PromRegistry();
}

/** WorkerLink is a worker's side: announce serving, answer metrics requests, hear "stop". */
export interface WorkerLink {
  /** serving tells the primary this worker answers DNS. */
  serving(): void;
  /** stopped resolves when the primary says stop. */
  stopped: Promise<void>;
  /** done closes the channel to the primary once the worker has shut down, so the process can end. */
  done(): void;
}

/**
 * linkWorker connects a worker to the primary. Every worker hands its `dnsMetrics` registry to
 * worker 0's scrapes; worker 0 adds a /ready check that all workers serve and gets `metricsText`,
 * which sums the DNS counters of all workers into its own metrics.
 */
export function linkWorker(role: WorkerRole, dnsOnly: MetricsRegistry, readiness?: Readiness): WorkerLink & { metricsText?: (own: MetricsRegistry) => Promise<string> } {
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const waiting = new Map<number, (all: MetricsJson[]) => void>();
  let nextId = 1;
  let servingNow = 0;
  let totalNow = role.total;
  process.on('message', (m: unknown) => {
    if (!isMessage(m)) return;
    if (m.svcdns === 'stop') stop();
    else if (m.svcdns === 'metrics?') {
      void dnsOnly.getMetricsAsJSON().then((json) => toPrimary({ svcdns: 'metrics', id: m.id, json }));
    } else if (m.svcdns === 'metrics!') {
      waiting.get(m.id)?.(m.all);
      waiting.delete(m.id);
    } else if (m.svcdns === 'workers') {
      servingNow = m.serving;
      totalNow = m.total;
    }
  });
  const link: WorkerLink & { metricsText?: (own: MetricsRegistry) => Promise<string> } = {
    serving: () => toPrimary({ svcdns: 'serving' }),
    stopped,
    // cluster's own disconnect: the worker then ends with its exit code once its handles close.
    done: () => cluster.worker?.disconnect(),
  };
  if (role.index === 0) {
    readiness?.add('workers', () => (servingNow >= totalNow ? true : `${servingNow} of ${totalNow} DNS workers serving`));
    link.metricsText = async (own) => {
      const id = nextId++;
      const others = await new Promise<MetricsJson[]>((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          resolve([]);
        }, 3000);
        waiting.set(id, (all) => {
          clearTimeout(timer);
          resolve(all);
        });
        toPrimary({ svcdns: 'metrics?', id });
      });
      const mine = await own.getMetricsAsJSON();
      return AggregatorRegistry.aggregate([mine, ...others]).metrics();
    };
  }
  return link;
}
