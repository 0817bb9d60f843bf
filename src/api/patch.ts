import { fail, ok, type Result } from '../result.js';
import type { Kind } from '../store/types.js';
import { clone, deepEqual, isRecord, type Obj } from './json.js';

/**
 * ListStrategy is how strategic merge patch treats a list: merged item by item on a key
 * (`patchMergeKey`), merged as a set of scalars (`patchStrategy: merge` on a []string), or, when a
 * path has no entry, replaced whole (atomic), as for every list without a patch strategy.
 */
export type ListStrategy = { key: string } | { primitive: true };

/** PatchSchema maps a dotted field path (no indices) to its list strategy. */
export type PatchSchema = ReadonlyMap<string, ListStrategy>;

const META: Array<[string, ListStrategy]> = [
  ['metadata.ownerReferences', { key: 'uid' }],
  ['metadata.finalizers', { primitive: true }],
];

/**
 * The strategies of the kinds served, from the Go types' struct tags (k8s.io/api core/v1 and
 * discovery/v1): Service ports merge on `port`; EndpointSlice endpoints and ports are atomic.
 */
export const PATCH_SCHEMAS: Record<Kind, PatchSchema> = {
  Service: new Map([...META, ['spec.ports', { key: 'port' }], ['status.conditions', { key: 'type' }]]),
  EndpointSlice: new Map(META),
  Endpoints: new Map(META),
  Namespace: new Map([...META, ['status.conditions', { key: 'type' }]]),
};

/** mergePatch applies an RFC 7386 JSON merge patch: objects merge, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return clone(patch);
  const out: Obj = isRecord(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const ORDER = '$setElementOrder/';
const DELETE_PRIMITIVES = '$deleteFromPrimitiveList/';

/**
 * strategicMerge applies a strategic merge patch (the subset kubectl sends): maps merge and null
 * deletes as in a merge patch; lists with a merge key merge item by item (`{"$patch": "delete",
 * <key>: v}` removes one, `{"$patch": "replace"}` replaces the list); `$setElementOrder/<list>`
 * orders the result; `$deleteFromPrimitiveList/<list>` removes scalars; `$retainKeys` drops the
 * keys it does not list; `$patch: replace|delete` on a map replaces or removes it. No `$` key is
 * ever left in the result.
 */
export function strategicMerge(original: unknown, patch: unknown, schema: PatchSchema): Result<unknown, string> {
  try {
    return ok(mergeValue(original, patch, schema, ''));
  } catch (err) {
    if (err instanceof PatchError) return fail(err.message);
    throw err;
  }
}

class PatchError extends Error {}

const deleted = Symbol('deleted');

function mergeValue(original: unknown, patch: unknown, schema: PatchSchema, path: string): unknown {
  if (!isRecord(patch)) return stripDirectives(patch);
  const r = mergeMap(isRecord(original) ? original : undefined, patch, schema, path);
  return r === deleted ? undefined : r;
}

function mergeMap(original: Obj | undefined, patch: Obj, schema: PatchSchema, path: string): Obj | typeof deleted {
  const directive = patch.$patch;
  if (directive !== undefined && directive !== 'replace' && directive !== 'delete' && directive !== 'merge') {
    throw new PatchError(`${at(path)}unknown patch directive ${JSON.stringify(directive)}: expected replace, delete or merge`);
  }
  if (directive === 'delete') return deleted;
  if (directive === 'replace') return stripDirectives(withoutKey(patch, '$patch')) as Obj;
  const out: Obj = original ? { ...original } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith(ORDER) || k.startsWith(DELETE_PRIMITIVES)) continue;
    if (k.startsWith('$')) throw new PatchError(`${at(path)}unknown patch directive ${JSON.stringify(k)}`);
    const sub = path ? `${path}.${k}` : k;
    if (v === null) {
      delete out[k];
    } else if (Array.isArray(v)) {
      out[k] = mergeList(out[k], v, schema.get(sub), patch[ORDER + k], sub, schema);
    } else if (isRecord(v)) {
      const merged = mergeMap(isRecord(out[k]) ? (out[k] as Obj) : undefined, v, schema, sub);
      if (merged === deleted) delete out[k];
      else out[k] = merged;
    } else {
      out[k] = v;
    }
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith(DELETE_PRIMITIVES)) {
      const list = k.slice(DELETE_PRIMITIVES.length);
      if (!Array.isArray(v)) throw new PatchError(`${at(path)}${k} must be a list`);
      if (Array.isArray(out[list])) out[list] = (out[list] as unknown[]).filter((x) => !v.some((d) => deepEqual(d, x)));
    } else if (k.startsWith(ORDER) && !(k.slice(ORDER.length) in patch)) {
      // Only the order changed: the list itself is not in the patch.
      const list = k.slice(ORDER.length);
      const sub = path ? `${path}.${list}` : list;
      if (Array.isArray(out[list])) out[list] = reorder(out[list] as unknown[], v, schema.get(sub), sub);
    }
  }
  const retain = patch.$retainKeys;
  if (retain !== undefined) {
    if (!Array.isArray(retain) || !retain.every((x) => typeof x === 'string')) throw new PatchError(`${at(path)}$retainKeys must be a list of field names`);
    for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  }
  return out;
}

function mergeList(original: unknown, patch: unknown[], strategy: ListStrategy | undefined, order: unknown, path: string, schema: PatchSchema): unknown[] {
  if (patch.some((x) => isRecord(x) && x.$patch === 'replace')) {
    return patch.filter((x) => !(isRecord(x) && x.$patch === 'replace')).map(stripDirectives);
  }
  const base = Array.isArray(original) ? original : [];
  if (!strategy) return patch.map(stripDirectives); // atomic: the patch's list is the new list
  let out: unknown[];
  if ('primitive' in strategy) {
    out = [...base];
    for (const x of patch) if (!out.some((y) => deepEqual(x, y))) out.push(x);
  } else {
    out = base.map((x) => x);
    for (const item of patch) {
      if (!isRecord(item) || !(strategy.key in item)) throw new PatchError(`${path}: every item of a merged list needs its merge key "${strategy.key}"`);
      const i = out.findIndex((x) => isRecord(x) && deepEqual(x[strategy.key], item[strategy.key]));
      if (item.$patch === 'delete') {
        if (i >= 0) out.splice(i, 1);
        continue;
      }
      if (i >= 0) {
        const merged = mergeMap(out[i] as Obj, item, schema, path);
        if (merged === deleted) out.splice(i, 1);
        else out[i] = merged;
      } else {
        out.push(stripDirectives(item));
      }
    }
  }
  return order === undefined ? out : reorder(out, order, strategy, path);
}

/** reorder puts the items named in `$setElementOrder` first, in its order; the others keep theirs after them. */
function reorder(list: unknown[], order: unknown, strategy: ListStrategy | undefined, path: string): unknown[] {
  if (!Array.isArray(order)) throw new PatchError(`${path}: $setElementOrder must be a list`);
  const same = (item: unknown, o: unknown) => (strategy && 'key' in strategy ? isRecord(item) && isRecord(o) && deepEqual(item[strategy.key], o[strategy.key]) : deepEqual(item, o));
  const rest = [...list];
  const head: unknown[] = [];
  for (const o of order) {
    const i = rest.findIndex((x) => same(x, o));
    if (i >= 0) head.push(...rest.splice(i, 1));
  }
  return [...head, ...rest];
}

/** stripDirectives removes every `$` key (and `$patch` list markers) from a value. */
export function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => !(isRecord(x) && Object.keys(x).length === 1 && '$patch' in x)).map(stripDirectives);
  if (!isRecord(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) out[k] = stripDirectives(x);
  return out;
}

function withoutKey(o: Obj, key: string): Obj {
  const { [key]: _drop, ...rest } = o;
  return rest;
}

const at = (path: string) => (path ? `${path}: ` : '');

/** JsonPatchOp is one RFC 6902 operation. */
interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: unknown;
}

/**
 * jsonPatch applies an RFC 6902 JSON patch (add, remove, replace, move, copy, test) with RFC 6901
 * pointers, all or nothing: a failing operation leaves the document as it was.
 */
export function jsonPatch(doc: unknown, ops: unknown): Result<unknown, string> {
  if (!Array.isArray(ops)) return fail('a JSON patch must be a list of operations');
  let cur = clone(doc);
  for (const [i, raw] of ops.entries()) {
    if (!isRecord(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') return fail(`operation ${i}: needs string fields "op" and "path"`);
    const op = raw as unknown as JsonPatchOp;
    const r = applyOp(cur, op);
    if (!r.ok) return fail(`operation ${i} (${op.op} ${op.path}): ${r.error}`);
    cur = r.value;
  }
  return ok(cur);
}

function pointer(path: string): Result<string[], string> {
  if (path === '') return ok([]);
  if (!path.startsWith('/')) return fail('a JSON pointer starts with "/"');
  return ok(path.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~')));
}

function applyOp(doc: unknown, op: JsonPatchOp): Result<unknown, string> {
  switch (op.op) {
    case 'add':
    case 'replace':
      if (!('value' in op)) return fail('needs a "value"');
      return put(doc, op.path, clone(op.value), op.op);
    case 'remove':
      return remove(doc, op.path);
    case 'copy':
    case 'move': {
      if (typeof op.from !== 'string') return fail('needs a "from" pointer');
      const got = get(doc, op.from);
      if (!got.ok) return got;
      let base = doc;
      if (op.op === 'move') {
        const r = remove(doc, op.from);
        if (!r.ok) return r;
        base = r.value;
      }
      return put(base, op.path, clone(got.value), 'add');
    }
    case 'test': {
      const got = get(doc, op.path);
      if (!got.ok) return got;
      return deepEqual(got.value, op.value) ? ok(doc) : fail('test failed: the value differs');
    }
    default:
      return fail(`unknown op ${JSON.stringify((op as { op: unknown }).op)}`);
  }
}

function get(doc: unknown, path: string): Result<unknown, string> {
  const p = pointer(path);
  return p.ok ? walk(doc, p.value, path) : p;
}

function walk(doc: unknown, tokens: readonly string[], path: string): Result<unknown, string> {
  let cur = doc;
  for (const t of tokens) {
    if (Array.isArray(cur) && /^(0|[1-9]\d*)$/.test(t) && Number(t) < cur.length) cur = cur[Number(t)];
    else if (isRecord(cur) && Object.hasOwn(cur, t)) cur = cur[t];
    else return fail(`path ${path} does not exist`);
  }
  return ok(cur);
}

function parentOf(doc: unknown, path: string): Result<{ parent: unknown; last: string }, string> {
  const p = pointer(path);
  if (!p.ok) return p;
  const last = p.value[p.value.length - 1];
  if (last === undefined) return fail('the root cannot be the target of this operation');
  const up = walk(doc, p.value.slice(0, -1), path);
  return up.ok ? ok({ parent: up.value, last }) : up;
}

function put(doc: unknown, path: string, value: unknown, mode: 'add' | 'replace'): Result<unknown, string> {
  if (path === '') return ok(value);
  const copy = clone(doc);
  const pp = parentOf(copy, path);
  if (!pp.ok) return pp;
  const { parent, last } = pp.value;
  if (Array.isArray(parent)) {
    const i = last === '-' ? parent.length : /^(0|[1-9]\d*)$/.test(last) ? Number(last) : NaN;
    if (Number.isNaN(i) || i > parent.length || (mode === 'replace' && i >= parent.length)) return fail(`index ${last} is out of bounds`);
    if (mode === 'add') parent.splice(i, 0, value);
    else parent[i] = value;
    return ok(copy);
  }
  if (!isRecord(parent)) return fail(`the parent of ${path} is not an object or a list`);
  if (mode === 'replace' && !Object.hasOwn(parent, last)) return fail(`path ${path} does not exist`);
  parent[last] = value;
  return ok(copy);
}

function remove(doc: unknown, path: string): Result<unknown, string> {
  const copy = clone(doc);
  const pp = parentOf(copy, path);
  if (!pp.ok) return pp;
  const { parent, last } = pp.value;
  if (Array.isArray(parent) && /^(0|[1-9]\d*)$/.test(last) && Number(last) < parent.length) {
    parent.splice(Number(last), 1);
    return ok(copy);
  }
  if (isRecord(parent) && Object.hasOwn(parent, last)) {
    delete parent[last];
    return ok(copy);
  }
  return fail(`path ${path} does not exist`);
}
