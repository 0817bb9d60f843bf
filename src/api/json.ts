/** Obj is a JSON object whose values are not known yet. */
export type Obj = Record<string, unknown>;

/** isRecord tells a plain JSON object from arrays, null and scalars. */
export function isRecord(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** clone deep-copies a JSON value (objects here are plain JSON: no dates, no cycles). */
export function clone<T>(v: T): T {
  return structuredClone(v);
}

/** record returns the object at obj[key], creating it when absent or not an object. */
export function child(obj: Obj, key: string): Obj {
  const v = obj[key];
  if (isRecord(v)) return v;
  const fresh: Obj = {};
  obj[key] = fresh;
  return fresh;
}

/** str reads a string field; undefined when absent or not a string. */
export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** stringMap reads labels/annotations/selector: string values only. */
export function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(v)) return out;
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

/**
 * withinDepth tells whether a parsed body nests at most `max` levels: the merge and validation
 * code recurses, and a 1 MiB body of brackets must be a 400, not a stack overflow.
 */
export function withinDepth(v: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (typeof x !== 'object' || x === null) continue;
    if (d >= max) return false;
    for (const c of Array.isArray(x) ? x : Object.values(x)) stack.push([c, d + 1]);
  }
  return true;
}

/** deepEqual compares two JSON values. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}
