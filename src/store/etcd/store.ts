import type { Etcd3, IWatchResponse, Watcher } from 'etcd3';
import type { Logger } from '../../log.js';
import { formatProblem, type Problem, type Result } from '../../result.js';
import { ObjectCache } from '../cache.js';
import type { KubeObject, ObjectKey, ObjectStore, StoreError, StoreEvent, StoredObject, StoreStatus, ZoneDefinition } from '../types.js';
import { createEtcdClient } from './client.js';
import { decodeObject, kvOf } from './decode.js';
import { deletedAt, diffEvents, reconcile, type ZoneState } from './reconcile.js';
import { KeyLayout } from './keys.js';
import { LIST_PAGE, listPrefixes, type Listing } from './list.js';
import { EtcdWriter } from './writer.js';

/** EtcdStoreOptions configure the etcd store. */
export interface EtcdStoreOptions {
  /** Client URLs of one etcd cluster. */
  urls: string[];
  /** Key prefix (default /svcdns): several registries can share one etcd. */
  prefix?: string;
  log: Logger;
  /** The safety-net relist period; each one is jittered by ±10 % so replicas do not list together. */
  relistMs?: number;
  /** How long a write waits for its own change to come back through the watch. */
  writeWaitMs?: number;
  /** Longest pause between two attempts to list while etcd is unreachable. */
  retryMaxMs?: number;
  /** Keys per range request while listing (default LIST_PAGE). */
  pageSize?: number;
  /** Deadline of each etcd call. */
  callTimeoutMs?: number;
}

/** Why a relist happened: the first list, a cancelled watch, a zone change, the timer, SIGHUP, or etcd restored. */
export type ListReason = 'initial' | 'watch-cancelled' | 'zones' | 'periodic' | 'reload' | 'etcd-restored';

/** EtcdStoreStats are counters for metrics and tests. */
export interface EtcdStoreStats {
  /** Successful lists (the first one included), by reason. */
  lists: Record<ListReason, number>;
  /** Lists that failed (etcd unreachable, a page compacted away); they are retried. */
  failedLists: number;
  /** Watches etcd cancelled (compaction): each one leads to a relist. */
  watchCancels: number;
  /** Times etcd became unreachable (an outage counts once, however many retries it takes). */
  outages: number;
  /** Watch responses applied, and the events in them. */
  watchResponses: number;
  watchEvents: number;
  /** Object values refused (invalid), at lists and in watch events. */
  invalidObjects: number;
  /** Writes that did not see their change come back through the watch in time (returned anyway). */
  writeWaitTimeouts: number;
  /** Service writes refused because another replica had just reserved the same IP or port. */
  allocationConflicts: number;
  /** Duration of the last successful list, and the time (ms since the epoch) of the last sync. */
  lastListMs: number;
  lastSyncAt: number;
}

/**
 * EtcdStore keeps the registry in etcd, shared by any number of replicas, following the
 * Kubernetes informer pattern: list the prefix once (paged, at one revision), then watch from
 * the next revision and apply each watch response as one batch. A cancelled watch (compaction)
 * leads to a relist; a relist every ~10 minutes is the safety net. While etcd is unreachable the
 * cache keeps its last state (DNS keeps answering) and status() says so; the watch resumes from
 * the last applied revision when etcd returns, so nothing is missed. Writes are etcd
 * transactions with compare-and-swap on the key's mod revision (the resourceVersion).
 */
export class EtcdStore implements ObjectStore {
  readonly cache = new ObjectCache();
  readonly stats: EtcdStoreStats = {
    lists: { initial: 0, 'watch-cancelled': 0, zones: 0, periodic: 0, reload: 0, 'etcd-restored': 0 },
    failedLists: 0,
    watchCancels: 0,
    outages: 0,
    watchResponses: 0,
    watchEvents: 0,
    invalidObjects: 0,
    writeWaitTimeouts: 0,
    allocationConflicts: 0,
    lastListMs: 0,
    lastSyncAt: 0,
  };
  readonly keys: KeyLayout;
  private readonly client: Etcd3;
  private readonly log: Logger;
  private readonly writer: EtcdWriter;
  private zoneStates = new Map<string, ZoneState>();
  /** The highest etcd revision whose changes are in the cache. */
  private applied = 0;
  private clusterId = '';
  private listed = false;
  private watcher: Watcher | undefined;
  private watching = false;
  /** The next list must replace the watch (etcd's history was replaced). */
  private restartWatch = false;
  /** Watch responses held back while a list runs; replayed (minus what the list covered) after it. */
  private held: IWatchResponse[] | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private pendingList: Promise<Problem[]> | undefined;
  private down: { since: number; error: string } | undefined;
  private lastError = '';
  private waiters: Array<{ revision: number; done: () => void }> = [];
  /** Problems already logged, by key and revision: each bad version is logged once. */
  private reported = new Set<string>();
  private relistTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: EtcdStoreOptions) {
    this.log = opts.log.child({ module: 'etcd' });
    this.keys = new KeyLayout(opts.prefix ?? '/svcdns');
    this.client = createEtcdClient(opts.urls, opts.callTimeoutMs !== undefined ? { callTimeoutMs: opts.callTimeoutMs } : {});
    this.writer = new EtcdWriter({
      client: this.client,
      keys: this.keys,
      cache: this.cache,
      zone: (z) => this.zoneStates.get(z)?.settings,
      waitFor: (rev) => this.waitFor(rev),
      onAllocationConflict: () => this.stats.allocationConflicts++,
    });
  }

  /** zones lists the zones that have a settings key, with their settings. */
  zones(): ZoneDefinition[] {
    return [...this.zoneStates].sort(([a], [b]) => (a < b ? -1 : 1)).map(([domain, z]) => ({ domain, settings: z.settings }));
  }

  /** status says whether the cache follows etcd right now, for /ready and metrics. */
  status(): StoreStatus {
    const where = this.keys.root;
    if (!this.listed) return { loaded: false, synced: false, detail: this.lastError ? `etcd: not listed yet: ${this.lastError}` : `etcd: listing ${where}` };
    if (this.down) {
      const since = new Date(this.down.since).toISOString();
      return { loaded: true, synced: false, detail: `etcd: not synced: unreachable since ${since} (${this.down.error}); serving the last snapshot (revision ${this.applied})` };
    }
    if (!this.watching) return { loaded: true, synced: false, detail: `etcd: not synced: ${this.watcher ? 'opening the watch' : 're-listing'} of ${where} (revision ${this.applied})` };
    return { loaded: true, synced: true, detail: `etcd: watching ${where} at revision ${this.applied}` };
  }

  /** revision is the highest etcd revision applied to the cache. */
  get revision(): number {
    return this.applied;
  }

  /**
   * start lists the prefix (retrying until etcd answers), then watches it; it resolves after the
   * first successful list with the problems found (invalid objects, which are not served).
   */
  async start(): Promise<Problem[]> {
    const problems = await this.relist('initial', true);
    this.scheduleRelist();
    return problems;
  }

  /** reload lists everything again (SIGHUP). */
  async reload(): Promise<void> {
    await this.relist('reload', false);
  }

  /** create stores a new object; AlreadyExists when its key is taken. */
  create(zone: string, object: KubeObject): Promise<Result<StoredObject, StoreError>> {
    return this.writer.create(zone, object);
  }

  /** update replaces an object; Conflict when expectedRevision is not the key's mod revision. */
  update(zone: string, object: KubeObject, expectedRevision?: number): Promise<Result<StoredObject, StoreError>> {
    return this.writer.update(zone, object, expectedRevision);
  }

  /** delete removes an object; Conflict when expectedRevision is not the key's mod revision. */
  delete(zone: string, key: ObjectKey, expectedRevision?: number): Promise<Result<StoredObject, StoreError>> {
    return this.writer.delete(zone, key, expectedRevision);
  }

  /**
   * sync resolves once the cache has applied every change committed in etcd before the call: it
   * writes a marker key under the prefix and waits for the watch to deliver it (a revision read
   * from etcd would not do: changes outside the prefix advance it too, and never come).
   */
  async sync(): Promise<void> {
    const res = await this.client.put(this.keys.syncMarker()).value(String(Date.now())).exec();
    await this.waitFor(Number(res.header.revision));
  }

  /** close stops watching and closes the connections. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.relistTimer);
    for (const w of this.waiters.splice(0)) w.done();
    const w = this.watcher;
    this.watcher = undefined;
    // Cancelling waits for etcd's answer; do not hang on an etcd that is gone.
    if (w) await Promise.race([w.cancel().catch(() => undefined), new Promise((r) => setTimeout(r, 500).unref())]);
    await this.queue.catch(() => undefined);
    this.client.close();
  }

  /** compact asks etcd to compact its history up to a revision (tests and maintenance). */
  async compact(revision: number): Promise<void> {
    await this.client.kv.compact({ revision: String(revision), physical: true });
  }

  // Lists run one at a time; a request while one waits to run joins it.
  private relist(reason: ListReason, retry: boolean): Promise<Problem[]> {
    if (this.pendingList) return this.pendingList;
    const run = this.queue.then(() => {
      this.pendingList = undefined;
      return this.listOnce(reason, retry);
    });
    this.pendingList = run;
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async listOnce(reason: ListReason, retry: boolean): Promise<Problem[]> {
    if (this.closed) return [];
    this.held ??= [];
    try {
      let listing: Listing | undefined;
      for (let attempt = 0; !listing; attempt++) {
        if (this.closed) return [];
        const started = performance.now();
        try {
          listing = await listPrefixes(this.client, this.keys.listed(), this.opts.pageSize ?? LIST_PAGE);
          this.stats.lastListMs = performance.now() - started;
        } catch (err) {
          this.stats.failedLists++;
          this.lastError = errorText(err);
          this.markDown(this.lastError);
          if (!retry) {
            this.log.warn({ reason, err: this.lastError }, 'relist failed; the watch goes on, the next relist will try again');
            return [];
          }
          const wait = Math.min(this.opts.retryMaxMs ?? 5000, 100 * 2 ** Math.min(attempt, 10));
          this.log.debug({ reason, attempt, wait }, 'list failed; retrying');
          await sleep(wait);
        }
      }
      if (this.closed) return [];
      const problems = this.applyListing(listing, reason);
      this.stats.lists[reason]++;
      this.listed = true;
      this.lastError = '';
      this.markUp();
      if (this.restartWatch && this.watcher) {
        // The old watch waits for revisions of the old history: drop it (its events are ignored).
        const old = this.watcher;
        this.watcher = undefined;
        void old.cancel().catch(() => undefined);
      }
      this.restartWatch = false;
      if (!this.watcher) this.watch();
      return problems;
    } finally {
      const held = this.held ?? [];
      this.held = null;
      for (const res of held) this.onWatchResponse(res);
    }
  }

  // Brings the cache and the zones in line with a listing. The first list (or one after etcd went
  // back in time, restored from a backup) replaces the cache; later ones apply the difference as
  // events, so API watchers hear about what changed while the watch was broken.
  private applyListing(listing: Listing, reason: ListReason): Problem[] {
    const r = reconcile(listing, this.keys, this.cache, this.zoneStates);
    for (const rep of r.reports) this.report(rep.problems, rep.id, rep.consequence);
    this.stats.invalidObjects += r.invalid;
    this.zoneStates = r.zones;
    const wentBack = listing.revision < this.applied || (this.clusterId !== '' && listing.clusterId !== this.clusterId);
    if (!this.listed || wentBack) {
      if (wentBack) this.log.warn({ revision: listing.revision, applied: this.applied }, 'etcd went back in time or is another cluster (restored from a backup?): the cache is replaced');
      this.applied = listing.revision;
      this.restartWatch = wentBack;
      this.cache.reset(r.objects, listing.revision);
    } else {
      const events = diffEvents(this.cache, r.objects, listing.revision);
      this.applied = Math.max(this.applied, listing.revision);
      if (events.length) this.cache.apply(events);
      else if (r.zonesChanged) this.cache.notify();
      if (events.length) this.log.info({ reason, changes: events.length, revision: listing.revision }, 'relist found changes the watch had not delivered');
    }
    this.clusterId = listing.clusterId;
    this.stats.lastSyncAt = Date.now();
    this.log.info({ reason, objects: r.objects.length, zones: r.zones.size, revision: listing.revision, ms: Math.round(this.stats.lastListMs), problems: r.problems.length }, 'listed etcd');
    this.release();
    return r.problems;
  }

  // Watches the prefix from the revision after the last applied one. etcd3 would resume a broken
  // stream from the revision after the last response header, which can skip events (a watch
  // created at an old revision gets a header with the current one): 'connecting' sets it to ours.
  private watch(): void {
    const w = this.client.watch().prefix(this.keys.root).startRevision(String(this.applied + 1)).watcher();
    this.watcher = w;
    w.on('connecting', () => {
      if (this.watcher !== w) return;
      w.request.start_revision = String(this.applied + 1); // the request etcd3 is about to send
    });
    w.on('connected', () => {
      if (this.watcher !== w) return;
      this.watching = true;
      const wasDown = this.down !== undefined;
      this.markUp();
      if (wasDown) void this.checkAfterOutage();
    });
    w.on('data', (res: IWatchResponse) => {
      if (this.watcher !== w) return;
      if (this.held) this.held.push(res);
      else this.onWatchResponse(res);
    });
    w.on('disconnected', (err: Error) => {
      if (this.watcher !== w) return;
      this.watching = false;
      this.markDown(errorText(err));
    });
    w.on('error', (err: Error) => {
      // etcd cancelled the watch: its start revision was compacted away (or permissions changed).
      if (this.watcher !== w) return;
      this.watcher = undefined;
      this.watching = false;
      this.stats.watchCancels++;
      this.log.warn({ err: errorText(err), revision: this.applied }, 'etcd cancelled the watch (history compacted?): relisting');
      if (!this.closed) void this.relist('watch-cancelled', true);
    });
  }

  // Applies one watch response as one batch of cache changes.
  private onWatchResponse(res: IWatchResponse): void {
    if (this.closed) return;
    const events: StoreEvent[] = [];
    const pending = new Map<string, StoredObject | null>();
    let zonesChanged = false;
    let top = this.applied;
    for (const ev of res.events) {
      const revision = Number(ev.kv.mod_revision);
      if (revision <= this.applied) continue; // already in the cache (replayed after a list or a reconnect)
      top = Math.max(top, revision);
      const key = ev.kv.key.toString();
      const parsed = this.keys.parse(key);
      if (!parsed) continue;
      if (parsed.type === 'zone') {
        zonesChanged = true;
        continue;
      }
      const zone = this.zoneStates.get(parsed.zone);
      if (!zone) continue;
      const { kind, namespace, name } = parsed.key;
      const id = `${parsed.zone} ${kind}/${namespace}/${name}`;
      const current = pending.has(id) ? pending.get(id) : this.cache.get(parsed.zone, kind, namespace, name);
      if (ev.type === 'Delete') {
        if (!current) continue;
        events.push({ type: 'DELETED', object: deletedAt(current, revision) });
        pending.set(id, null);
        continue;
      }
      const kv = kvOf(ev.kv);
      const decoded = decodeObject(kv, parsed.zone, parsed.key, zone.settings);
      if (!decoded.ok) {
        this.stats.invalidObjects++;
        this.report(decoded.error, `${key}@${revision}`, current ? 'refused; its previous version keeps serving' : 'not served');
        continue;
      }
      events.push({ type: current ? 'MODIFIED' : 'ADDED', object: decoded.value });
      pending.set(id, decoded.value);
    }
    this.applied = top;
    this.stats.watchResponses++;
    this.stats.watchEvents += events.length;
    this.stats.lastSyncAt = Date.now();
    if (events.length) this.cache.apply(events);
    this.release();
    if (zonesChanged) void this.relist('zones', true);
  }

  // After an outage the watch resumes where it stopped. That is only right if etcd kept its
  // history: an etcd restored from a backup (older revision) or another cluster needs a relist.
  private async checkAfterOutage(): Promise<void> {
    try {
      const res = await this.client.get(this.keys.syncMarker()).exec(); // one key: the header is what counts
      if (Number(res.header.revision) < this.applied || res.header.cluster_id !== this.clusterId) void this.relist('etcd-restored', true);
    } catch {
      // unreachable again: the next reconnection checks again
    }
  }

  private waitFor(revision: number): Promise<boolean> {
    if (this.applied >= revision || this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        this.stats.writeWaitTimeouts++;
        resolve(false);
      }, this.opts.writeWaitMs ?? 5000);
      const waiter = {
        revision,
        done: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      this.waiters.push(waiter);
    });
  }

  // Wakes the writes whose revision the cache has reached.
  private release(): void {
    if (!this.waiters.length) return;
    const left = [];
    for (const w of this.waiters) {
      if (w.revision <= this.applied) w.done();
      else left.push(w);
    }
    this.waiters = left;
  }

  // etcd3 reports 'disconnected' on every retry; log the outage once, and its end once.
  private markDown(error: string): void {
    if (this.down) {
      this.down.error = error;
      return;
    }
    this.down = { since: Date.now(), error };
    if (this.listed) this.stats.outages++;
    this.log.warn({ err: error, revision: this.applied }, this.listed ? 'etcd unreachable: serving the last snapshot until it returns' : 'etcd unreachable: retrying');
  }

  private markUp(): void {
    if (!this.down) return;
    this.log.info({ downMs: Date.now() - this.down.since, revision: this.applied }, 'etcd reachable again');
    this.down = undefined;
  }

  private scheduleRelist(): void {
    if (this.closed) return;
    const base = this.opts.relistMs ?? 600_000;
    this.relistTimer = setTimeout(() => {
      void this.relist('periodic', false).finally(() => this.scheduleRelist());
    }, base * (0.9 + Math.random() * 0.2));
    this.relistTimer.unref();
  }

  private report(problems: readonly Problem[], id: string, consequence?: string): void {
    if (!problems.length || this.reported.has(id)) return;
    if (this.reported.size > 10_000) this.reported.clear();
    this.reported.add(id);
    for (const p of problems) this.log.error({ code: p.code, key: p.file, path: p.path }, consequence ? `${formatProblem(p)} (${consequence})` : formatProblem(p));
  }
}

function errorText(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0]!.replace(/\. Resolution note:.*$/, '').slice(0, 300);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
