import type { ServerResponse } from 'node:http';
import { stringify } from 'yaml';
import type { Logger } from '../log.js';
import type { StoreEvent } from '../store/types.js';
import { isRecord, str, type Obj } from './json.js';
import type { Output } from './negotiate.js';
import { matches, type ListOptions } from './query.js';
import type { ResourceDef } from './resources.js';
import { failure } from './status.js';
import { partialObject, toTable } from './tables.js';
import { getItem, listItems, present, type ViewContext } from './views.js';

/** WatchRequest is one `?watch=true` request. */
export interface WatchRequest {
  def: ResourceDef;
  view: ViewContext;
  namespace?: string;
  opts: ListOptions;
  output: Output;
  now: () => number;
  log: Logger;
  /** Close a watch whose client reads slower than this many bytes behind (a stuck client). */
  maxBuffered?: number;
  /** Default lifetime when the client gives no timeoutSeconds (kube-apiserver: 30-60 min). */
  defaultTimeoutSeconds?: number;
}

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/**
 * serveWatch streams a watch as Kubernetes does: chunked JSON, one `{"type":..,"object":..}` per
 * line. Without a resourceVersion (or "0") it starts with ADDED for every current object; with
 * one, it replays the changes after it from the cache's history, or sends a 410 Expired Status
 * when that is too old (the client relists). Selectors apply per event: an object that stops
 * matching arrives as DELETED, one that starts as ADDED. With the Table Accept, each event's
 * object is a one-row Table. Namespaces and Endpoints are computed views: their watch follows
 * changes from now on.
 */
export function serveWatch(res: ServerResponse, w: WatchRequest): void {
  const { def, view, opts } = w;
  res.writeHead(200, { 'Content-Type': w.output.encoding === 'yaml' ? 'application/yaml' : 'application/json', 'Cache-Control': 'no-cache, private' });
  res.flushHeaders();
  let closed = false;
  let stop: () => void = () => undefined;
  const timer = setTimeout(() => finish(), (opts.timeoutSeconds ?? w.defaultTimeoutSeconds ?? 1800) * 1000);
  const finish = () => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    stop();
    res.end();
  };
  res.on('close', finish);

  const send = (type: EventType, object: Obj) => {
    if (closed) return;
    const rendered = type === 'ERROR' || type === 'BOOKMARK' ? object : render(w, object);
    res.write(w.output.encoding === 'yaml' ? `---\n${stringify({ type, object: rendered })}` : `${JSON.stringify({ type, object: rendered })}\n`);
    if (res.writableLength > (w.maxBuffered ?? 16 << 20)) {
      w.log.warn({ resource: def.name }, 'closing a watch whose client does not keep up');
      finish();
    }
  };
  const inScope = (o: Obj) => w.namespace === undefined || (isRecord(o.metadata) && o.metadata.namespace === w.namespace);
  const matching = (o: Obj) => inScope(o) && matches(def, opts, o);
  const keyOf = (o: Obj) => (isRecord(o.metadata) ? `${str(o.metadata.namespace) ?? ''}/${str(o.metadata.name) ?? ''}` : '');
  const initial = () => {
    for (const item of listItems(def, view, w.namespace)) if (matches(def, opts, item.object)) send('ADDED', item.object);
    if (opts.sendInitialEvents && opts.allowBookmarks) {
      send('BOOKMARK', { kind: def.kind, apiVersion: def.apiVersion, metadata: { resourceVersion: String(view.cache.revision), annotations: { 'k8s.io/initial-events-end': 'true' } } });
    }
  };

  if (def.kind === 'Namespace' || def.kind === 'Endpoints') {
    const known = new Map(listItems(def, view, w.namespace).filter((i) => matches(def, opts, i.object)).map((i) => [keyOf(i.object), JSON.stringify(i.object)]));
    if (opts.resourceVersion === undefined) initial();
    const recompute = (ns: string) => {
      const candidates = def.kind === 'Namespace' ? [getItem(def, view, '', ns)].filter((i) => i !== undefined) : listItems(def, view, ns);
      const now = new Map(candidates.filter((i) => matching(i.object)).map((i) => [keyOf(i.object), i.object]));
      const prefix = def.kind === 'Namespace' ? `/${ns}` : `${ns}/`;
      for (const [key, text] of known) {
        if (def.kind === 'Namespace' ? key !== prefix : !key.startsWith(prefix)) continue;
        if (!now.has(key)) {
          known.delete(key);
          send('DELETED', JSON.parse(text) as Obj);
        }
      }
      for (const [key, o] of now) {
        const text = JSON.stringify(o);
        const before = known.get(key);
        if (before === text) continue;
        known.set(key, text);
        send(before === undefined ? 'ADDED' : 'MODIFIED', o);
      }
    };
    const s = view.cache.watch(view.cache.revision, (e: StoreEvent) => {
      if (e.object.zone !== view.zone) return;
      const k = e.object.key;
      // A change anywhere in a namespace may change that namespace (it exists while it holds
      // objects) or the Endpoints views computed from its Services and slices.
      if (def.kind === 'Namespace') recompute(k.kind === 'Namespace' ? k.name : k.namespace);
      else if (k.kind !== 'Namespace' && (w.namespace === undefined || k.namespace === w.namespace)) recompute(k.namespace);
    });
    if (typeof s === 'function') stop = s;
    return;
  }

  // Stored kinds: the cache's history and live events, filtered and rendered per event.
  const current = listItems(def, view, w.namespace).filter((i) => matches(def, opts, i.object));
  const inside = new Set(current.map((i) => keyOf(i.object)));
  const from = opts.resourceVersion ?? view.cache.revision;
  if (opts.resourceVersion === undefined) initial();
  const s = view.cache.watch(from, (e: StoreEvent) => {
    if (e.object.zone !== view.zone || e.object.key.kind !== def.kind) return;
    const o = present(e.object, def, view.settings);
    if (!inScope(o)) return;
    const key = keyOf(o);
    const was = inside.has(key);
    const now = e.type !== 'DELETED' && matches(def, opts, o);
    if (e.type === 'DELETED') {
      inside.delete(key);
      if (was || matches(def, opts, o)) send('DELETED', o);
    } else if (now) {
      inside.add(key);
      // A replayed ADDED stays ADDED; a change that brings an object into the selector is ADDED.
      send(e.type === 'ADDED' || !was ? 'ADDED' : 'MODIFIED', o);
    } else if (was) {
      inside.delete(key); // no longer matches the selector: gone from this watch's view
      send('DELETED', o);
    }
  });
  if (s === 'expired') {
    send('ERROR', failure('Expired', `too old resource version: ${opts.resourceVersion ?? 0} (${view.cache.oldestRevision})`) as unknown as Obj);
    finish();
    return;
  }
  stop = s;
}

function render(w: WatchRequest, o: Obj): Obj {
  if (w.output.as === 'table') {
    return toTable(w.def, [o], { now: w.now(), resourceVersion: isRecord(o.metadata) ? (str(o.metadata.resourceVersion) ?? '') : '', includeObject: w.opts.includeObject, metaVersion: w.output.metaVersion });
  }
  if (w.output.as === 'partial') return partialObject(o, w.output.metaVersion);
  return o;
}
