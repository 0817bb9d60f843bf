import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { stringify } from 'yaml';
import type { Logger } from '../../log.js';
import type { RegistryObject } from '../../registry/model.js';
import { SETTINGS_FILE, type ZoneSettings } from '../../registry/settings.js';
import { convertDocument } from '../../registry/sources/convert.js';
import { sourceDocuments } from '../../registry/sources/documents.js';
import { formatPath, isSubdomain } from '../../registry/sources/fields.js';
import { parseRegistryFile, readRegistryFile, readZoneSettings, type FileObject, type FileResult } from '../../registry/sources/files.js';
import { listRegistryFiles, sameStat, type FileStat } from '../../registry/sources/scan.js';
import { fail, formatProblem, ok, type Problem, type Result } from '../../result.js';
import { ObjectCache } from '../cache.js';
import { decorate, persistable, userContent } from '../decorate.js';
import { alreadyExists, conflict, notFound } from '../errors.js';
import { keyOfObject, type KubeObject, type ObjectKey, type ObjectStore, type StoreError, type StoreEvent, type StoredObject, type StoreStatus, type ZoneDefinition } from '../types.js';
import { writeFileAtomic, unlinkDurable } from '../../fs/atomic-write.js';
import { apiFilePath } from './layout.js';
import { removeStaleTemps } from './temps.js';
import { DirWatcher } from './watcher.js';
import { Owners, type Owner } from './owners.js';
import { rewriteFile } from './rewrite.js';

/** FileStoreOptions configure the zones/ folder store. */
export interface FileStoreOptions {
  root: string;
  log: Logger;
  /** At start, serve the valid objects of files that have problems. */
  skipInvalid?: boolean;
  /** Quiet time after a change before the folder is rescanned; quick writes coalesce. */
  debounceMs?: number;
  /**
   * A file modified less than this long ago is read only once it has been quiet that long:
   * writers that truncate and then write (shell redirection, writeFile) are not caught half-way.
   */
  settleMs?: number;
  /**
   * A file that had objects and is now empty is read only once it has stayed empty this long: a
   * writer that truncates and then writes can stall between the two (a loaded machine), and an
   * empty file is valid, so reading it early would drop its objects for a moment.
   */
  emptySettleMs?: number;
  /** A full stat-only rescan every so often, in case a change event was missed. */
  pollMs?: number;
}

/** FileStoreStats are counters for metrics and tests. */
export interface FileStoreStats {
  reloads: number;
  failedReloads: number;
}

interface FileState {
  stat: FileStat;
  result: FileResult;
}

interface ZoneState {
  domain: string;
  dir: string;
  settings: ZoneSettings;
  settingsStat?: FileStat;
  /** The result in force for each file: its last version without problems. */
  files: Map<string, FileState>;
  /** Files whose current version has problems (already reported): path -> stat of that version. */
  bad: Map<string, FileStat>;
  /** Where each object of the zone is defined. */
  owners: Owners;
  /** Duplicate-object problems already logged, by object (logged again only when they change). */
  duplicates: Map<string, Set<string>>;
  /** Read every file again at the next scan, changed or not (new settings, SIGHUP). */
  rereadAll: boolean;
}

/**
 * FileStore keeps the registry in the zones/ folder: one sub-folder per cluster domain, any
 * number of YAML/JSON files in it and below. It follows edits made by hand (fs.watch plus a
 * periodic stat scan), keeps serving a file's last good version while its current one has
 * problems, and writes API changes back atomically into the file that defines the object
 * (new objects: zones/<domain>/api/<namespace>/<kind>.<name>.yaml).
 */
export class FileStore implements ObjectStore {
  readonly cache = new ObjectCache();
  readonly stats: FileStoreStats = { reloads: 0, failedReloads: 0 };
  private readonly zoneStates = new Map<string, ZoneState>();
  private readonly log: Logger;
  private watcher: DirWatcher | undefined;
  /** Every folder seen by the last scan (the root, zone folders and their sub-folders). */
  private dirs = new Set<string>();
  private pollTimer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: FileStoreOptions) {
    this.log = opts.log.child({ module: 'files' });
  }

  /** zones lists the served zones and their settings. */
  zones(): ZoneDefinition[] {
    return [...this.zoneStates.values()].map((z) => ({ domain: z.domain, settings: z.settings }));
  }

  /** status: the folder is read directly, so the store is always in step once started. */
  status(): StoreStatus {
    return { loaded: true, synced: true, detail: `files: ${this.opts.root}` };
  }

  /** zoneDir gives the folder of a zone. */
  zoneDir(domain: string): string | undefined {
    return this.zoneStates.get(domain)?.dir;
  }

  /** start reads every zone folder and starts following changes; it returns the problems found. */
  async start(): Promise<Problem[]> {
    const problems: Problem[] = [];
    for (const file of await removeStaleTemps(this.opts.root)) this.log.info({ file }, 'removed the temporary file of an interrupted write');
    const entries = await readdir(this.opts.root, { withFileTypes: true }).catch((err: Error) => {
      problems.push({ code: 'ERR_ZONE_READ', file: this.opts.root, message: `cannot read the zones folder: ${err.message}. Create it with one folder per cluster domain, e.g. ${join(this.opts.root, 'cluster.local')}/` });
      return [];
    });
    const objects: StoredObject[] = [];
    const revision = Date.now(); // revisions keep growing across restarts
    this.cache.startAt(revision);
    for (const e of entries.filter((d) => d.isDirectory() && !d.name.startsWith('.')).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const domain = e.name.toLowerCase().replace(/\.$/, '');
      if (!isSubdomain(domain)) {
        problems.push({ code: 'ERR_ZONE_READ', file: join(this.opts.root, e.name), message: 'a zone folder must be named after its domain, e.g. cluster.local' });
        continue;
      }
      const zone = await this.readZone(join(this.opts.root, e.name), domain, problems, true);
      for (const [, owner] of zone.owners.entries()) objects.push(this.stored(zone, owner.file, owner.entry, revision));
    }
    if (entries.length && this.zoneStates.size === 0 && problems.length === 0) {
      problems.push({ code: 'ERR_ZONE_READ', file: this.opts.root, message: `holds no zone folder; create ${join(this.opts.root, 'cluster.local')}/ with Service and EndpointSlice YAML in it` });
    }
    this.cache.reset(objects, revision);
    this.follow();
    return problems;
  }

  /** reload rereads every file now, changed or not (SIGHUP). */
  reload(): Promise<void> {
    return this.serialized(async () => {
      for (const zone of this.zoneStates.values()) {
        zone.rereadAll = true;
        zone.settingsStat = undefined;
      }
      await this.rescan();
    });
  }

  /** create writes a new object into zones/<domain>/api/. */
  create(zone: string, object: KubeObject): Promise<Result<StoredObject, StoreError>> {
    return this.serialized(async () => {
      const z = this.zoneStates.get(zone);
      const key = keyOfObject(object);
      if (!z || !key) return fail({ reason: 'InternalError', message: `no zone ${zone} or no object key` } as StoreError);
      const current = this.cache.get(zone, key.kind, key.namespace, key.name);
      if (current) return fail(alreadyExists(key));
      const revision = this.cache.nextRevision();
      const stored = decorate(object, key.namespace, revision);
      const file = apiFilePath(z.dir, key);
      const written = await this.writeObjectFile(z, file, stringify(persistable(stored)));
      if (!written.ok) return written;
      return ok(this.applyWrite(z, 'ADDED', written.value, key, revision));
    });
  }

  /** update replaces an object in the file that defines it. */
  update(zone: string, object: KubeObject, expectedRevision?: number): Promise<Result<StoredObject, StoreError>> {
    return this.serialized(async () => {
      const z = this.zoneStates.get(zone);
      const key = keyOfObject(object);
      if (!z || !key) return fail({ reason: 'InternalError', message: `no zone ${zone} or no object key` } as StoreError);
      const current = this.cache.get(zone, key.kind, key.namespace, key.name);
      if (!current) return fail(notFound(key));
      if (expectedRevision !== undefined && expectedRevision !== current.revision) return fail(conflict(key));
      const revision = this.cache.nextRevision();
      const stored = decorate(object, key.namespace, revision, current.object);
      const r = await this.rewriteOwner(z, key, persistable(stored));
      if (!r.ok) return r;
      return ok(this.applyWrite(z, 'MODIFIED', r.value, key, revision));
    });
  }

  /** delete removes an object from the file that defines it (the file itself when it held only that). */
  delete(zone: string, key: ObjectKey, expectedRevision?: number): Promise<Result<StoredObject, StoreError>> {
    return this.serialized(async () => {
      const z = this.zoneStates.get(zone);
      const current = z && this.cache.get(z.domain, key.kind, key.namespace, key.name);
      if (!z || !current) return fail(notFound(key));
      if (expectedRevision !== undefined && expectedRevision !== current.revision) return fail(conflict(key));
      const r = await this.rewriteOwner(z, key, null);
      if (!r.ok) return r;
      const revision = this.cache.nextRevision();
      const gone: StoredObject = { ...current, revision, object: { ...current.object, metadata: { ...current.object.metadata, resourceVersion: String(revision) } } };
      this.cache.apply([{ type: 'DELETED', object: gone }]);
      return ok(gone);
    });
  }

  /** close stops following changes. */
  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    clearInterval(this.pollTimer);
    clearTimeout(this.debounce);
    clearTimeout(this.retry);
    await this.queue.catch(() => undefined);
  }

  // Writes run one at a time, and never while a rescan runs, so each sees the files as they are.
  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  // Reads a whole zone folder. A file with problems contributes nothing, except at start with
  // --skip-invalid, where its valid objects are served.
  private async readZone(dir: string, domain: string, problems: Problem[], initial: boolean): Promise<ZoneState> {
    const { settings, problems: sp } = await readZoneSettings(dir, domain);
    for (const p of sp) problems.push(p);
    const zone: ZoneState = { domain, dir, settings, settingsStat: await statOf(join(dir, SETTINGS_FILE)), files: new Map(), bad: new Map(), owners: new Owners(), duplicates: new Map(), rereadAll: false };
    const changed = new Set<string>();
    for (const [file, st] of await listRegistryFiles(dir, this.dirs)) {
      const result = await readRegistryFile(file, { nodePortRange: settings.nodePortRange });
      for (const p of result.problems) problems.push(p);
      if (result.problems.length) zone.bad.set(file, st);
      if (!result.problems.length || (initial && this.opts.skipInvalid)) this.setFile(zone, file, { stat: st, result }, changed);
    }
    for (const p of this.noteDuplicates(zone, changed)) problems.push(p);
    this.zoneStates.set(domain, zone);
    return zone;
  }

  // Puts a file's new result (or, undefined, its removal) in force and updates which file defines
  // each of its objects; `changed` gets the objects that may have changed.
  private setFile(zone: ZoneState, file: string, state: FileState | undefined, changed: Set<string>): void {
    // The text is read again when an object of the file is rewritten (rewriteOwner): a big JSON
    // file's text is as big as the file, kept for nothing until then.
    if (state) state.result.docs = [];
    const before = zone.files.get(file);
    if (state) zone.files.set(file, state);
    else zone.files.delete(file);
    zone.owners.replaceFile(file, before?.result.objects ?? [], state?.result.objects ?? [], changed);
  }

  // Remembers the duplicate problems of the objects `ids`; returns those not logged before.
  private noteDuplicates(zone: ZoneState, ids: ReadonlySet<string>): Problem[] {
    const fresh: Problem[] = [];
    const now = new Map<string, Set<string>>();
    for (const { id, problem } of zone.owners.duplicates(ids)) {
      const text = formatProblem(problem);
      let set = now.get(id);
      if (!set) now.set(id, (set = new Set()));
      set.add(text);
      if (!zone.duplicates.get(id)?.has(text)) fresh.push(problem);
    }
    for (const id of ids) {
      const set = now.get(id);
      if (set) zone.duplicates.set(id, set);
      else zone.duplicates.delete(id);
    }
    return fresh;
  }

  private stored(zone: ZoneState, file: string, entry: FileObject, revision: number, previous?: StoredObject): StoredObject {
    const key = modelKey(entry.model);
    return {
      key,
      zone: zone.domain,
      object: decorate(entry.raw, key.namespace, revision, previous?.object),
      revision,
      origin: { file, line: entry.model.value.origin.line ?? 1 },
      model: entry.model,
    };
  }

  // Watches the folder tree; bursts of events coalesce into one rescan after a quiet moment.
  private follow(): void {
    const schedule = () => {
      if (this.closed) return;
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => void this.serialized(() => this.rescan()), this.opts.debounceMs ?? 15);
    };
    this.watcher = new DirWatcher(schedule, this.log);
    this.watcher.sync(new Set([this.opts.root, ...this.dirs]));
    this.pollTimer = setInterval(schedule, this.opts.pollMs ?? 2000);
    this.pollTimer.unref();
  }

  // Brings the cache in line with the folder: new and removed zones, changed files.
  private async rescan(): Promise<void> {
    if (this.closed) return;
    this.dirs = new Set([this.opts.root]);
    const names = await readdir(this.opts.root, { withFileTypes: true }).catch(() => []);
    const seen = new Set<string>();
    const events: StoreEvent[] = [];
    let settingsChanged = false;
    for (const e of names) {
      const domain = e.name.toLowerCase().replace(/\.$/, '');
      if (!e.isDirectory() || e.name.startsWith('.') || !isSubdomain(domain)) continue;
      seen.add(domain);
      let zone = this.zoneStates.get(domain);
      if (!zone) {
        const problems: Problem[] = [];
        zone = await this.readZone(join(this.opts.root, e.name), domain, problems, false);
        this.report(problems, 'file refused; none of its objects are served');
        settingsChanged = true;
        for (const e of this.diff(zone, new Map())) events.push(e);
        this.log.info({ zone: domain }, 'zone added');
        continue;
      }
      if (await this.rescanSettings(zone)) settingsChanged = true;
      for (const e of this.diffObjects(zone, await this.rescanFiles(zone))) events.push(e);
    }
    for (const [domain, zone] of this.zoneStates) {
      if (seen.has(domain)) continue;
      this.zoneStates.delete(domain);
      settingsChanged = true;
      for (const e of this.diff(undefined, this.cachedOf(domain))) events.push(e);
      this.log.info({ zone: domain }, 'zone removed');
    }
    this.watcher?.sync(this.dirs);
    if (events.length) this.cache.apply(events);
    else if (settingsChanged) this.cache.notify();
  }

  private async rescanSettings(zone: ZoneState): Promise<boolean> {
    const st = await statOf(join(zone.dir, SETTINGS_FILE));
    if (sameStat(st, zone.settingsStat) || (!st && !zone.settingsStat)) return false;
    zone.settingsStat = st;
    const { settings, problems } = await readZoneSettings(zone.dir, zone.domain);
    if (problems.length) {
      this.stats.failedReloads++;
      this.report(problems, 'zone settings refused; the previous settings stay in force');
      return false;
    }
    zone.settings = settings;
    zone.rereadAll = true; // validation depends on the settings (NodePort range): read every file again
    this.log.info({ zone: zone.domain }, 'zone settings reloaded');
    return true;
  }

  // Rereads the files whose stats changed; gives the objects (by objectKey) that may have changed.
  private async rescanFiles(zone: ZoneState): Promise<Set<string>> {
    const listing = await listRegistryFiles(zone.dir, this.dirs);
    const all = zone.rereadAll;
    zone.rereadAll = false;
    const ids = new Set<string>();
    let reloaded = all;
    const settle = this.opts.settleMs ?? 40;
    for (const [file, st] of listing) {
      if (!all && (sameStat(st, zone.files.get(file)?.stat) || sameStat(st, zone.bad.get(file)))) continue;
      const age = Date.now() - st.mtimeMs;
      this.log.trace({ file, age, size: st.size }, 'file changed');
      const emptied = st.size === 0 && (zone.files.get(file)?.result.objects.length ?? 0) > 0;
      const wait = emptied ? Math.max(settle, this.opts.emptySettleMs ?? 1000) : settle;
      if (age < wait) {
        this.retryIn(wait - age);
        continue;
      }
      const result = await readRegistryFile(file, { nodePortRange: zone.settings.nodePortRange });
      const after = await statOf(file);
      if (!sameStat(after, st)) {
        this.retryIn(settle); // still being written: look again shortly
        continue;
      }
      if (result.problems.length) {
        zone.bad.set(file, st);
        this.stats.failedReloads++;
        this.report(result.problems, zone.files.has(file) ? 'file refused; its previous version keeps serving' : 'file refused; none of its objects are served');
        continue;
      }
      zone.bad.delete(file);
      this.setFile(zone, file, { stat: st, result }, ids);
      reloaded = true;
    }
    for (const file of [...zone.files.keys(), ...zone.bad.keys()]) {
      if (listing.has(file)) continue;
      if (zone.files.has(file)) {
        this.setFile(zone, file, undefined, ids);
        reloaded = true;
      }
      zone.bad.delete(file);
    }
    if (reloaded) {
      this.stats.reloads++;
      this.report(this.noteDuplicates(zone, ids));
    }
    return ids;
  }

  private retryIn(ms: number): void {
    if (this.retry || this.closed) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.serialized(() => this.rescan());
    }, Math.max(1, Math.ceil(ms)));
  }

  // Turns the difference between the zone's files (none: a removed zone) and the cache into events.
  private diff(zone: ZoneState | undefined, cached: Map<string, StoredObject>): StoreEvent[] {
    const events: StoreEvent[] = [];
    for (const [id, owner] of zone?.owners.entries() ?? []) {
      const before = cached.get(id);
      cached.delete(id);
      const e = this.event(zone!, owner, before);
      if (e) events.push(e);
    }
    for (const gone of cached.values()) events.push(this.deletion(gone));
    return events;
  }

  // The events of the objects `ids` (by objectKey) only: what a few changed files cost, whatever
  // the size of the zone.
  private diffObjects(zone: ZoneState, ids: ReadonlySet<string>): StoreEvent[] {
    const events: StoreEvent[] = [];
    for (const id of ids) {
      const key = idKey(id);
      const before = key && this.cache.get(zone.domain, key.kind, key.namespace, key.name);
      const owner = zone.owners.get(id);
      if (owner) {
        const e = this.event(zone, owner, before);
        if (e) events.push(e);
      } else if (before) {
        events.push(this.deletion(before));
      }
    }
    return events;
  }

  // ADDED or MODIFIED for an object defined by `owner`, unless the cache already has it as it is.
  private event(zone: ZoneState, owner: Owner, before: StoredObject | undefined): StoreEvent | undefined {
    if (before && before.origin.file === owner.file && userContent(before.object) === userContent(owner.entry.raw)) return undefined;
    const revision = this.cache.nextRevision();
    return { type: before ? 'MODIFIED' : 'ADDED', object: this.stored(zone, owner.file, owner.entry, revision, before) };
  }

  private deletion(gone: StoredObject): StoreEvent {
    const revision = this.cache.nextRevision();
    return { type: 'DELETED', object: { ...gone, revision, object: { ...gone.object, metadata: { ...gone.object.metadata, resourceVersion: String(revision) } } } };
  }

  private cachedOf(domain: string): Map<string, StoredObject> {
    return new Map(this.cache.list(undefined, undefined, domain).map((o) => [modelId(o.key), o]));
  }

  // Files are read again only when they change, so each version's problems are logged once.
  private report(problems: Problem[], consequence?: string): void {
    for (const p of problems) {
      const text = formatProblem(p);
      this.log.error({ code: p.code, file: p.file, line: p.line, path: p.path }, consequence ? `${text} (${consequence})` : text);
    }
  }

  // Writes a whole file for one object and reads it back as the file's new state.
  private async writeObjectFile(zone: ZoneState, file: string, text: string): Promise<Result<FileState, StoreError>> {
    try {
      await mkdir(dirname(file), { recursive: true });
      await writeFileAtomic(file, text);
    } catch (err) {
      return fail({ reason: 'InternalError', message: `cannot write ${file}: ${(err as Error).message}` });
    }
    const result = parseRegistryFile(file, text, { nodePortRange: zone.settings.nodePortRange });
    const st = await statOf(file);
    if (result.problems.length || !st) return fail({ reason: 'Invalid', message: result.problems.map(formatProblem).join('; ') || 'file vanished' });
    const state = { stat: st, result };
    this.setFile(zone, file, state, new Set());
    zone.bad.delete(file);
    return ok(state);
  }

  // Replaces (or removes, with null) an object in the file that defines it.
  private async rewriteOwner(zone: ZoneState, key: ObjectKey, next: KubeObject | null): Promise<Result<FileState | null, StoreError>> {
    const owner = zone.owners.get(modelId(key));
    const state = owner && zone.files.get(owner.file);
    if (!owner || !state) return fail(notFound(key));
    if (zone.bad.has(owner.file) || !sameStat(await statOf(owner.file), state.stat)) {
      return fail({ reason: 'Conflict', message: `${owner.file} was changed on disk or has problems; svcdns did not overwrite it. Fix the file or retry` });
    }
    let docs;
    try {
      docs = sourceDocuments(extname(owner.file).toLowerCase() === '.json', await readFile(owner.file, 'utf8'));
    } catch (err) {
      return fail({ reason: 'InternalError', message: `cannot read ${owner.file}: ${(err as Error).message}` });
    }
    const text = rewriteFile({ ...state.result, docs }, owner.entry, next);
    if (text === null && next === null) {
      try {
        await unlinkDurable(owner.file);
      } catch (err) {
        return fail({ reason: 'InternalError', message: `cannot remove ${owner.file}: ${(err as Error).message}` });
      }
      this.setFile(zone, owner.file, undefined, new Set());
      return ok(null);
    }
    const written = await this.writeObjectFile(zone, owner.file, text ?? stringify(next));
    return written;
  }

  private applyWrite(zone: ZoneState, type: 'ADDED' | 'MODIFIED', state: FileState | null, key: ObjectKey, revision: number): StoredObject {
    const owner = zone.owners.get(modelId(key));
    const previous = this.cache.get(zone.domain, key.kind, key.namespace, key.name);
    if (!owner || !state) throw new Error(`written object ${modelId(key)} not found in its file`);
    const stored = this.stored(zone, owner.file, owner.entry, revision, previous);
    this.cache.apply([{ type, object: stored }]);
    return stored;
  }
}

/** validateForStore converts an object as a store would, to refuse invalid writes early. */
export function validateObject(object: KubeObject, settings: ZoneSettings): Problem[] {
  const out = convertDocument(object, {}, { nodePortRange: settings.nodePortRange });
  return out.problems.map((p) => ({ code: 'ERR_ZONE_INVALID', path: formatPath(p.path), message: p.message }));
}

function modelKey(m: RegistryObject): ObjectKey {
  return m.kind === 'Namespace' ? { kind: m.kind, namespace: '', name: m.value.name } : { kind: m.kind, namespace: m.value.namespace, name: m.value.name };
}

// The same string as objectKey of the object's model.
function modelId(k: ObjectKey): string {
  return `${k.kind}/${k.namespace}/${k.name}`;
}

// The key of an objectKey (names and namespaces hold no "/").
function idKey(id: string): ObjectKey | undefined {
  const [kind, namespace, name] = id.split('/');
  if (kind !== 'Service' && kind !== 'EndpointSlice' && kind !== 'Endpoints' && kind !== 'Namespace') return undefined;
  return namespace === undefined || name === undefined ? undefined : { kind, namespace, name };
}

async function statOf(file: string): Promise<FileStat | undefined> {
  try {
    const s = await stat(file);
    return { mtimeMs: s.mtimeMs, size: s.size, ino: s.ino };
  } catch {
    return undefined;
  }
}


