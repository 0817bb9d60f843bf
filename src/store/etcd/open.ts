import type { ReadyCheck } from '../../http/health.js';
import type { Logger } from '../../log.js';
import { Registry } from '../../registry/registry.js';
import { followStore } from '../../registry/runtime.js';
import { EtcdStore, type EtcdStoreOptions } from './store.js';

/** EtcdRegistry is a registry that follows an etcd store, and the readiness check of `serve`. */
export interface EtcdRegistry {
  registry: Registry;
  store: EtcdStore;
  /** Not ready until the first list; after it ready, with the store's state as detail. */
  ready: ReadyCheck;
}

/**
 * openEtcdRegistry starts following etcd in the background and returns at once, so that `serve`
 * listens right away: DNS answers SERVFAIL and /ready says 503 until the first list has built
 * a snapshot. Invalid objects in etcd are logged and left out; they never stop a replica (one bad
 * write must not take every replica down). After the first list /ready stays 200 while etcd is
 * unreachable, with the detail in its body: every replica serves its last snapshot, and marking
 * them all unready at once would turn an etcd outage into a DNS outage (CoreDNS's kubernetes
 * plugin is ready once synced, likewise).
 */
export function openEtcdRegistry(opts: Omit<EtcdStoreOptions, 'log'>, log: Logger): EtcdRegistry {
  const regLog = log.child({ module: 'registry' });
  const store = new EtcdStore({ ...opts, log });
  const registry = new Registry();
  followStore({ store, registry, log });
  const started = Date.now();
  void store.start().then((problems) => {
    if (!store.status().loaded) return; // closed before the first list
    // The snapshot is built right after the list (setImmediate): log once it is live.
    setImmediate(() => regLog.info({ source: 'etcd', zones: store.zones().map((z) => z.domain), ...registry.current?.counts, problems: problems.length, ms: Date.now() - started }, 'registry loaded'));
  });
  const ready: ReadyCheck = () => {
    const s = store.status();
    return { ready: s.loaded, detail: s.detail };
  };
  return { registry, store, ready };
}
