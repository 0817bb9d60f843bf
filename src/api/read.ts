import type { IncomingMessage, ServerResponse } from 'node:http';
import { outputOr406, sendOne, type ApiDeps, type Handled, type Target } from './context.js';
import { matches, parseListOptions } from './query.js';
import { sendObject, sendStatus } from './respond.js';
import { notFound } from './status.js';
import { partialObject, toTable } from './tables.js';
import { getItem, listItems, type ViewContext } from './views.js';
import { serveWatch } from './watch.js';

/** list serves a collection: a list, or a watch with ?watch=true. */
export async function list(res: ServerResponse, req: IncomingMessage, url: URL, t: Target, view: ViewContext, deps: ApiDeps): Handled {
  const output = outputOr406(req, res, !parseBool(url.searchParams.get('watch')));
  if (!output) return;
  const opts = parseListOptions(t.def, url.searchParams);
  if (!opts.ok) return sendStatus(res, opts.error);
  if (opts.value.watch) {
    return serveWatch(res, { def: t.def, view, ...(t.namespace !== undefined ? { namespace: t.namespace } : {}), opts: opts.value, output, now: deps.now, log: deps.log, ...(deps.watchTimeoutSeconds ? { defaultTimeoutSeconds: deps.watchTimeoutSeconds } : {}) });
  }
  const rv = String(view.cache.revision);
  const items = listItems(t.def, view, t.namespace).filter((i) => matches(t.def, opts.value, i.object)).map((i) => i.object);
  if (output.as === 'table') return sendObject(res, 200, toTable(t.def, items, { now: deps.now(), resourceVersion: rv, includeObject: opts.value.includeObject, metaVersion: output.metaVersion }), output);
  if (output.as === 'partial') {
    return sendObject(res, 200, { kind: 'PartialObjectMetadataList', apiVersion: `meta.k8s.io/${output.metaVersion}`, metadata: { resourceVersion: rv }, items: items.map((o) => partialObject(o, output.metaVersion)) }, output);
  }
  return sendObject(res, 200, { kind: t.def.listKind, apiVersion: t.def.apiVersion, metadata: { resourceVersion: rv }, items }, output);
}

function parseBool(v: string | null): boolean {
  return v === 'true' || v === '1';
}

/** get serves one object (or its Table row). */
export async function get(res: ServerResponse, req: IncomingMessage, url: URL, t: Target, view: ViewContext): Handled {
  const output = outputOr406(req, res, false);
  if (!output) return;
  const item = getItem(t.def, view, t.namespace ?? '', t.name!);
  if (!item) return sendStatus(res, notFound(t.def, t.name!));
  const include = url.searchParams.get('includeObject');
  return sendOne(res, 200, t.def, item.object, output, Date.now(), include === 'Object' || include === 'None' ? include : 'Metadata');
}
