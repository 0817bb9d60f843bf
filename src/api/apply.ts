import { fail, ok, type Result } from '../result.js';
import { deepEqual, isRecord, type Obj } from './json.js';
import { stripDirectives, strategicMerge, type PatchSchema } from './patch.js';

/** APPLIED_PREFIX prefixes the annotation that keeps each field manager's last applied configuration. */
export const APPLIED_PREFIX = 'applied.svcdns.io/';

/** appliedAnnotation names the annotation of a field manager ("kubectl" → applied.svcdns.io/kubectl). */
export function appliedAnnotation(manager: string): string {
  const name = manager.replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '').slice(0, 63) || 'manager';
  return `${APPLIED_PREFIX}${name.replace(/[^A-Za-z0-9]+$/, '')}`;
}

/**
 * applyConfiguration is server-side apply for one field manager at a time: the applied
 * configuration (the whole manifest, as `kubectl apply --server-side` sends it) is merged into
 * the current object with the strategic merge rules (Service ports by port, atomic lists
 * replaced), and what the same manager applied last time but left out now is removed, as
 * Kubernetes does for the fields a manager owns. The last applied configuration is kept in the
 * annotation applied.svcdns.io/<manager>, so this works across restarts. Ownership between
 * managers (conflicts, force) is not tracked. A resourceVersion in the manifest is a precondition.
 */
export function applyConfiguration(current: Obj | undefined, applied: unknown, schema: PatchSchema, manager = 'manager'): Result<Obj, string> {
  if (!isRecord(applied)) return fail('an apply configuration must be an object');
  const key = appliedAnnotation(manager);
  const clean = stripDirectives(applied) as Obj;
  const meta = isRecord(clean.metadata) ? (clean.metadata = { ...clean.metadata }) : (clean.metadata = {});
  delete meta.managedFields;
  if (isRecord(meta.annotations)) {
    meta.annotations = Object.fromEntries(Object.entries(meta.annotations).filter(([k]) => !k.startsWith(APPLIED_PREFIX)));
  }
  const record = JSON.stringify({ ...clean, metadata: withoutServerFields(meta) });
  let result: Obj;
  if (!current) {
    result = structuredClone(clean);
  } else {
    const merged = strategicMerge(current, clean, schema);
    if (!merged.ok) return merged;
    if (!isRecord(merged.value)) return fail('the merged object is not an object');
    result = merged.value;
    const last = lastApplied(current, key);
    if (last) prune(result, last, clean, schema, '');
  }
  const rmeta = isRecord(result.metadata) ? result.metadata : (result.metadata = {});
  rmeta.annotations = { ...(isRecord(rmeta.annotations) ? rmeta.annotations : {}), [key]: record };
  return ok(result);
}

function withoutServerFields(meta: Obj): Obj {
  const { resourceVersion: _rv, uid: _uid, creationTimestamp: _ct, generation: _g, ...rest } = meta;
  return rest;
}

function lastApplied(current: Obj, key: string): Obj | undefined {
  const annotations = isRecord(current.metadata) && isRecord(current.metadata.annotations) ? current.metadata.annotations : {};
  const text = annotations[key];
  if (typeof text !== 'string') return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return isRecord(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** prune removes from target what `last` set and `now` no longer sets (maps by key, merged lists by merge key). */
function prune(target: Obj, last: Obj, now: Obj, schema: PatchSchema, path: string): void {
  for (const [k, was] of Object.entries(last)) {
    if (path === 'metadata' && (k === 'name' || k === 'namespace')) continue;
    const sub = path ? `${path}.${k}` : k;
    if (!(k in now)) {
      delete target[k];
      continue;
    }
    const is = now[k];
    const t = target[k];
    if (isRecord(was) && isRecord(is) && isRecord(t)) {
      prune(t, was, is, schema, sub);
      continue;
    }
    const strategy = schema.get(sub);
    if (!strategy || !Array.isArray(was) || !Array.isArray(is) || !Array.isArray(t)) continue;
    if ('primitive' in strategy) {
      target[k] = t.filter((x) => !(was.some((w) => deepEqual(w, x)) && !is.some((n) => deepEqual(n, x))));
      continue;
    }
    const keyOf = (x: unknown) => (isRecord(x) ? JSON.stringify(x[strategy.key]) : undefined);
    const kept = new Set(is.map(keyOf));
    const dropped = new Set(was.map(keyOf).filter((x) => !kept.has(x)));
    target[k] = t.filter((x) => !dropped.has(keyOf(x)));
    for (const item of target[k] as unknown[]) {
      const before = was.find((w) => keyOf(w) === keyOf(item));
      const after = is.find((n) => keyOf(n) === keyOf(item));
      if (isRecord(item) && isRecord(before) && isRecord(after)) prune(item, before, after, schema, sub);
    }
  }
}
