import jsyaml from 'js-yaml';
import { readFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Etcd3 } from 'etcd3';
import { writeFileAtomic } from '../../fs/atomic-write.js';
import { loadZonesDir } from '../../registry/load.js';
import { objectKey } from '../../registry/content.js';
import { SETTINGS_FILE, defaultSettings } from '../../registry/settings.js';
import { listRegistryFiles } from '../../registry/sources/scan.js';
import type { Problem } from '../../result.js';
import { decorate, persistable, userContent } from '../decorate.js';
import type { Kind, KubeObject, ObjectKey } from '../types.js';
import { allocationsOf } from '../../api/allocate.js';
import { decodeObject, decodeSettings, type Kv } from './decode.js';
import { KeyLayout } from './keys.js';
import { LIST_PAGE, listPrefixes } from './list.js';

/** The file `export` writes each zone's objects to. */
export const EXPORT_FILE = 'registry.yaml';

/** Progress hears how far a transfer is: done out of total objects. */
export type Progress = (done: number, total: number) => void;

/** ExportSummary is what `export` did. */
export interface ExportSummary {
  zones: string[];
  objects: number;
  revision: number;
  /** Objects written although they are invalid (import will refuse them), and unreadable values left out. */
  problems: Problem[];
}

const KIND_ORDER: Record<Kind, number> = { Namespace: 0, Service: 1, EndpointSlice: 2, Endpoints: 3 };

/**
 * exportRegistry writes the registry in etcd, as one consistent listing, into a zones folder:
 * <dir>/<zone>/registry.yaml with every object of the zone (without resourceVersion) and
 * <dir>/<zone>/_settings.yaml with its settings. It refuses, before writing anything, when a zone
 * folder already holds other registry files (they would define the same objects twice).
 */
export async function exportRegistry(client: Etcd3, prefix: string, dir: string, progress: Progress = () => undefined): Promise<{ ok: true; summary: ExportSummary } | { ok: false; problems: Problem[] }> {
  const keys = new KeyLayout(prefix);
  const listing = await listPrefixes(client, keys.listed(), LIST_PAGE);
  const settings = new Map<string, Kv>();
  const objects = new Map<string, Array<{ key: ObjectKey; object: KubeObject }>>();
  const problems: Problem[] = [];
  const total = listing.kvs.length;
  let done = 0;
  // Settings first (their keys sort after the objects'): validation depends on them.
  for (const kv of listing.kvs) {
    const parsed = keys.parse(kv.key);
    if (parsed?.type === 'zone') settings.set(parsed.zone, kv);
  }
  const zoneSettings = new Map([...settings].map(([zone, kv]) => [zone, decodeSettings(kv.key, zone, kv.value).settings]));
  for (const kv of listing.kvs) {
    const parsed = keys.parse(kv.key);
    if (parsed?.type === 'object') {
      let raw: unknown;
      try {
        raw = JSON.parse(kv.value.toString('utf8'));
      } catch (err) {
        problems.push({ code: 'ERR_ZONE_PARSE', file: kv.key, message: `left out: the value is not JSON: ${(err as Error).message}` });
        continue;
      }
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
        problems.push({ code: 'ERR_ZONE_INVALID', file: kv.key, message: 'left out: the value is not a JSON object' });
        continue;
      }
      const decoded = decodeObject(kv, parsed.zone, parsed.key, zoneSettings.get(parsed.zone) ?? defaultSettings(parsed.zone));
      if (!decoded.ok) problems.push(...decoded.error.map((p) => ({ ...p, message: `${p.message} (exported as it is; import will refuse it)` })));
      const list = objects.get(parsed.zone) ?? [];
      list.push({ key: parsed.key, object: persistable(raw as KubeObject) });
      objects.set(parsed.zone, list);
    }
    progress(++done, total);
  }
  const zones = [...new Set([...settings.keys(), ...objects.keys()])].sort();
  const clashes: Problem[] = [];
  for (const zone of zones) {
    for (const file of (await listRegistryFiles(join(dir, zone))).keys()) {
      if (file !== join(dir, zone, EXPORT_FILE)) clashes.push({ code: 'ERR_WRITE', file, message: `would define objects twice next to the exported ${EXPORT_FILE}; export into an empty folder, or move it away` });
    }
  }
  if (clashes.length) return { ok: false, problems: clashes };
  for (const zone of zones) {
    await mkdir(join(dir, zone), { recursive: true });
    const kv = settings.get(zone);
    if (kv) {
      const raw = kv.value.length ? jsyaml.load(kv.value.toString('utf8'), { schema: jsyaml.CORE_SCHEMA }) : {};
      await writeFileAtomic(join(dir, zone, SETTINGS_FILE), `# exported from etcd ${kv.key}\n${jsyaml.dump(raw ?? {}, { lineWidth: -1 })}`);
    } else {
      problems.push({ code: 'ERR_ZONE_READ', file: keys.zoneObjects(zone), message: `zone ${zone} has objects but no settings key ${keys.zone(zone)}; exported with the default settings` });
    }
    const list = (objects.get(zone) ?? []).sort((a, b) => KIND_ORDER[a.key.kind] - KIND_ORDER[b.key.kind] || cmp(a.key.namespace, b.key.namespace) || cmp(a.key.name, b.key.name));
    const text = list.map((o) => `---\n${jsyaml.dump(o.object, { lineWidth: -1, noRefs: true })}`).join('');
    await writeFileAtomic(join(dir, zone, EXPORT_FILE), `# ${list.length} objects exported from etcd ${keys.zoneObjects(zone)} at revision ${listing.revision}\n${text}`);
  }
  return { ok: true, summary: { zones, objects: [...objects.values()].reduce((n, l) => n + l.length, 0), revision: listing.revision, problems } };
}

/** ImportSummary is what `import` did. */
export interface ImportSummary {
  zones: string[];
  created: number;
  updated: number;
  unchanged: number;
  /** Problems in the files; with skipInvalid their objects were left out, else nothing was written. */
  problems: Problem[];
}

/**
 * importRegistry copies a zones folder into etcd: zone settings first, then every object, each
 * in a compare-and-swap transaction (created when absent, updated when its content differs, left
 * alone when equal, so that importing twice changes nothing). Objects in etcd that the folder
 * does not hold are left alone. The folder is validated first with the same converters as
 * `check`; with problems nothing is written unless skipInvalid.
 */
export async function importRegistry(
  client: Etcd3,
  prefix: string,
  dir: string,
  { skipInvalid = false, concurrency = 8, progress = () => undefined }: { skipInvalid?: boolean; concurrency?: number; progress?: Progress } = {},
): Promise<{ ok: true; summary: ImportSummary } | { ok: false; problems: Problem[] }> {
  const keys = new KeyLayout(prefix);
  const loaded = await loadZonesDir(dir);
  if (loaded.problems.length && !skipInvalid) return { ok: false, problems: loaded.problems };
  if (loaded.files.length === 0) return { ok: false, problems: loaded.problems };
  const existing = new Map((await listPrefixes(client, keys.listed(), LIST_PAGE)).kvs.map((kv) => [kv.key, kv]));
  const summary: ImportSummary = { zones: [], created: 0, updated: 0, unchanged: 0, problems: loaded.problems };
  const writes: Array<{ key: string; object: KubeObject; namespace: string; reservations: string[] }> = [];
  for (const zone of loaded.files) {
    summary.zones.push(zone.domain);
    const zoneKey = keys.zone(zone.domain);
    const settings = await readSettingsJson(join(zone.dir, SETTINGS_FILE));
    const current = existing.get(zoneKey)?.value.toString('utf8');
    if (settings !== undefined ? settings !== current : current === undefined) await client.put(zoneKey).value(settings ?? '{}');
    const seen = new Set<string>();
    for (const file of zone.files) {
      for (const o of file.objects) {
        const id = objectKey(o.model);
        if (seen.has(id)) continue; // a duplicate: the first one wins, as when serving files
        seen.add(id);
        const m = o.model;
        const key: ObjectKey = m.kind === 'Namespace' ? { kind: m.kind, namespace: '', name: m.value.name } : { kind: m.kind, namespace: m.value.namespace, name: m.value.name };
        // A Service's cluster IPs and node ports are reserved as API writes reserve them.
        const held = m.kind === 'Service' ? allocationsOf(o.raw) : { ips: [], ports: [] };
        const reservations = [...held.ips.map((ip) => keys.allocation(zone.domain, 'clusterip', ip)), ...held.ports.map((p) => keys.allocation(zone.domain, 'nodeport', String(p)))];
        writes.push({ key: keys.object(zone.domain, key), object: o.raw as KubeObject, namespace: key.namespace, reservations });
      }
    }
  }
  // Objects go in batches, one transaction each (all or nothing, compared key by key): etcd
  // commits one batch as fast as one object. A batch that loses a race falls back to one
  // transaction per object, which re-reads and retries.
  const pending: Array<{ key: string; value: string; known: Kv | undefined; raw: KubeObject; namespace: string; reservations: string[]; owner: string }> = [];
  for (const w of writes) {
    const known = existing.get(w.key);
    const previous = known ? parseLoose(known.value) : undefined;
    const body = persistable(decorate(w.object, w.namespace, 0, previous));
    if (previous && sameContent(previous, body)) summary.unchanged++;
    else pending.push({ key: w.key, value: JSON.stringify(body), known, raw: w.object, namespace: w.namespace, reservations: w.reservations, owner: `${w.namespace}/${String(body.metadata.name)}` });
  }
  let done = summary.unchanged;
  progress(done, writes.length);
  const batches: Array<typeof pending> = [];
  for (let i = 0, bytes = 0, ops = 0; i < pending.length; i++) {
    const last = batches[batches.length - 1];
    const size = pending[i]!.value.length + pending[i]!.key.length;
    const n = 1 + pending[i]!.reservations.length;
    if (!last || ops + n > BATCH_OPS || bytes + size > BATCH_BYTES) {
      batches.push([pending[i]!]);
      bytes = size;
      ops = n;
    } else {
      last.push(pending[i]!);
      bytes += size;
      ops += n;
    }
  }
  const next = batches.values();
  const worker = async () => {
    for (const batch of next) {
      let txn = client.if(batch[0]!.key, ...compareFor(batch[0]!.known));
      for (const w of batch.slice(1)) txn = txn.and(w.key, ...compareFor(w.known));
      const res = await txn.then(...batch.flatMap((w) => [client.put(w.key).value(w.value), ...w.reservations.map((r) => client.put(r).value(w.owner))])).commit();
      if (res.succeeded) for (const w of batch) summary[w.known ? 'updated' : 'created']++;
      else for (const w of batch) summary[await importOne(client, w, undefined)]++;
      done += batch.length;
      progress(done, writes.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, batches.length)) }, worker));
  return { ok: true, summary };
}

/** Puts per import transaction (etcd's --max-txn-ops defaults to 128). */
const BATCH_OPS = 120;
/** Bytes per import transaction (etcd's --max-request-bytes defaults to 1.5 MiB). */
const BATCH_BYTES = 1024 * 1024;

function compareFor(known: Kv | undefined): ['Mod' | 'Create', '==', number] {
  return known ? ['Mod', '==', known.modRevision] : ['Create', '==', 0];
}

function sameContent(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return isDeepStrictEqual(JSON.parse(userContent(a)), JSON.parse(userContent(b)));
}

// Writes one object unless etcd already holds the same content; keeps its uid and creationTimestamp.
async function importOne(client: Etcd3, w: { key: string; raw: KubeObject; namespace: string; reservations: string[]; owner: string }, known: Kv | undefined): Promise<'created' | 'updated' | 'unchanged'> {
  const { key, raw, namespace } = w;
  let current = known;
  for (let attempt = 0; ; attempt++) {
    const previous = current ? parseLoose(current.value) : undefined;
    const body = persistable(decorate(raw, namespace, 0, previous));
    if (previous && sameContent(previous, body)) return 'unchanged';
    const value = JSON.stringify(body);
    const txn = current ? client.if(key, 'Mod', '==', current.modRevision) : client.if(key, 'Create', '==', 0);
    const res = await txn.then(client.put(key).value(value), ...w.reservations.map((r) => client.put(r).value(w.owner))).else(client.get(key)).commit();
    if (res.succeeded) return current ? 'updated' : 'created';
    if (attempt >= 3) throw new Error(`${key} keeps changing while it is imported; try again`);
    const kv = res.responses[0]?.response_range?.kvs[0];
    current = kv ? { key, value: kv.value, modRevision: Number(kv.mod_revision), createRevision: Number(kv.create_revision), lease: kv.lease } : undefined;
  }
}

// The settings file as JSON for the zone key; undefined when the folder has none.
async function readSettingsJson(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  return JSON.stringify(jsyaml.load(text, { schema: jsyaml.CORE_SCHEMA }) ?? {});
}

function parseLoose(value: Buffer): KubeObject | undefined {
  try {
    const v: unknown = JSON.parse(value.toString('utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as KubeObject) : undefined;
  } catch {
    return undefined;
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
