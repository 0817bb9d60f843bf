import type { Result } from '../result.js';
import type { ApiDeps } from './context.js';
import type { Status } from './status.js';

/** Refusals that came from a cache behind the store: another replica wrote first. */
const STALE = new WeakSet<Status>();

/**
 * stale marks a refusal that a fresher cache may avoid: a cluster IP or node port another
 * replica had just taken, or an update without a resourceVersion precondition that lost the
 * compare-and-swap because this replica had not seen the latest version yet.
 */
export function stale(s: Status): Status {
  STALE.add(s);
  return s;
}

/**
 * withFreshCache runs a write; when the store refused it for a stale cache (stores shared by
 * replicas: etcd), it catches the cache up (`store.sync()`) and prepares the write again, as the
 * Kubernetes API server retries an unconditional update (GuaranteedUpdate). A requested IP that
 * is taken is then refused by the allocator itself, with its own words; a dynamic one is picked
 * again among the free ones.
 */
export async function withFreshCache<T>(deps: ApiDeps, write: () => Promise<Result<T, Status>>, attempts = 10): Promise<Result<T, Status>> {
  for (let i = 1; ; i++) {
    const r = await write();
    if (r.ok || !STALE.has(r.error) || !deps.store.sync || i >= attempts) return r;
    try {
      await deps.store.sync();
    } catch {
      return r; // the store is unreachable: the refusal stands
    }
    // Two replicas retrying in lockstep would keep colliding: a short random pause parts them.
    await new Promise((resolve) => setTimeout(resolve, deps.random() * 5 * i));
  }
}
