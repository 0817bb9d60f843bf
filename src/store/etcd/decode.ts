import { createHash } from 'node:crypto';
import jsyaml from 'js-yaml';
import { parseSettings, type ZoneSettings } from '../../registry/settings.js';
import { convertDocument } from '../../registry/sources/convert.js';
import { formatPath } from '../../registry/sources/fields.js';
import type { Problem, Result } from '../../result.js';
import { fail, ok } from '../../result.js';
import { decorate } from '../decorate.js';
import type { KubeObject, ObjectKey, StoredObject } from '../types.js';

/** Kv is a key-value pair as etcd returns it, with revisions as numbers. */
export interface Kv {
  key: string;
  value: Buffer;
  /** The revision of the key's last change: the object's resourceVersion. */
  modRevision: number;
  /** The revision that created the key (0 once deleted). */
  createRevision: number;
  lease: string;
}

/** kvOf converts etcd3's key-value pair (revisions as decimal strings). */
export function kvOf(kv: { key: Buffer; value: Buffer; mod_revision: string; create_revision: string; lease: string }): Kv {
  return { key: kv.key.toString(), value: kv.value, modRevision: Number(kv.mod_revision), createRevision: Number(kv.create_revision), lease: kv.lease };
}

/**
 * decodeObject turns the value of an object key into a stored object, validated with the same
 * converters as files. The key names the object: a value that names another object (or a List)
 * is a problem, as is anything the converters refuse. Problems name the key, as files name file:line.
 */
export function decodeObject(kv: Kv, zone: string, key: ObjectKey, settings: ZoneSettings): Result<StoredObject, Problem[]> {
  const where = { code: 'ERR_ZONE_INVALID', file: kv.key };
  let raw: unknown;
  try {
    raw = JSON.parse(kv.value.toString('utf8'));
  } catch (err) {
    return fail([{ ...where, code: 'ERR_ZONE_PARSE', message: `the value is not JSON: ${(err as Error).message}` }]);
  }
  const converted = convertDocument(raw, { file: kv.key }, { nodePortRange: settings.nodePortRange });
  if (converted.problems.length) return fail(converted.problems.map((p) => ({ ...where, path: formatPath(p.path) || undefined, message: p.message })));
  const one = converted.objects[0];
  if (converted.objects.length !== 1 || !one || one.item !== undefined) {
    return fail([{ ...where, message: `a key holds exactly one ${key.kind}, not ${converted.ignored[0] ? `a ${converted.ignored[0]}` : 'a List or nothing'}` }]);
  }
  const m = one.model;
  const ns = m.kind === 'Namespace' ? '' : m.value.namespace;
  if (m.kind !== key.kind || ns !== key.namespace || m.value.name !== key.name) {
    const said = m.kind === 'Namespace' ? `Namespace ${m.value.name}` : `${m.kind} ${ns}/${m.value.name}`;
    const want = key.kind === 'Namespace' ? `Namespace ${key.name}` : `${key.kind} ${key.namespace}/${key.name}`;
    return fail([{ ...where, message: `the value is ${said} but its key is for ${want}` }]);
  }
  return ok(storedObject(kv, zone, key, one.raw, one.model));
}

/** storedObject decorates a raw object read from etcd: resourceVersion is the key's mod revision. */
export function storedObject(kv: Kv, zone: string, key: ObjectKey, raw: Record<string, unknown>, model?: StoredObject['model']): StoredObject {
  const meta = (raw.metadata ?? {}) as Record<string, unknown>;
  // An object put by hand (etcdctl) may lack a uid: derive one from the key and its creation, so
  // every replica shows the same uid and it changes only when the object is re-created.
  const withUid = typeof meta.uid === 'string' && meta.uid ? raw : { ...raw, metadata: { ...meta, uid: stableUid(kv.key, kv.createRevision) } };
  const object: KubeObject = decorate(withUid, key.namespace, kv.modRevision);
  return { key, zone, object, revision: kv.modRevision, origin: { file: kv.key }, ...(model ? { model } : {}) };
}

/** stableUid formats a SHA-1 of the key and its create revision as a UUID (version 5 layout). */
export function stableUid(key: string, createRevision: number): string {
  const h = createHash('sha1').update(`${key}@${createRevision}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/**
 * decodeSettings reads a zone key's value: JSON (YAML is accepted too) in the `_settings.yaml`
 * schema; an empty value means the defaults.
 */
export function decodeSettings(key: string, zone: string, value: Buffer): { settings: ZoneSettings; problems: Problem[] } {
  let raw: unknown;
  try {
    raw = value.length ? jsyaml.load(value.toString('utf8'), { schema: jsyaml.CORE_SCHEMA }) : {};
  } catch (err) {
    const parsed = parseSettings(zone, {});
    return { settings: parsed.settings, problems: [{ code: 'ERR_ZONE_SETTINGS', file: key, message: `the value is not JSON: ${(err as Error).message.split('\n')[0]}` }] };
  }
  const parsed = parseSettings(zone, raw ?? {});
  return { settings: parsed.settings, problems: parsed.problems.map((p) => ({ code: 'ERR_ZONE_SETTINGS', file: key, path: formatPath(p.path) || undefined, message: p.message })) };
}
