import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.js';
import type { Readiness } from './readiness.js';

/** ShutdownOptions configure gracefulShutdown. */
export interface ShutdownOptions {
  /** How long to keep answering after the signal, with /ready at 503, before closing (ms). */
  lameduckMs: number;
  readiness: Readiness;
  log: Logger;
  /** Closes the listeners: DNS first (answering what is in flight), HTTP last. */
  close: () => Promise<void>;
  /** Resolves to cut the lameduck short (a second SIGTERM or SIGINT). */
  cut?: Promise<unknown>;
}

/**
 * gracefulShutdown is what SIGTERM starts, in CoreDNS's order (health plugin, `lameduck`):
 * 1. `/ready` turns 503 "shutdown: shutting down", so load balancers and Kubernetes stop sending;
 * 2. for `lameduckMs`, DNS still answers everything that arrives and `/health` stays 200, so
 *    queries already on their way to this instance are not lost while it is taken out;
 * 3. the DNS listeners stop taking queries, the answers in flight go out, TCP connections end
 *    with FIN, and the HTTP listener closes last.
 */
export async function gracefulShutdown({ lameduckMs, readiness, log, close, cut }: ShutdownOptions): Promise<void> {
  const started = Date.now();
  readiness.add('shutdown', () => 'shutting down');
  if (lameduckMs > 0) {
    log.info({ lameduck_ms: lameduckMs }, 'lameduck: /ready is 503, still answering DNS');
    const ac = new AbortController();
    await Promise.race([sleep(lameduckMs, undefined, { signal: ac.signal }).catch(() => undefined), cut]);
    ac.abort();
  }
  log.info('closing listeners; answering the queries in flight');
  await close();
  log.info({ ms: Date.now() - started }, 'stopped');
}
