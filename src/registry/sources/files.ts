import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Problem } from '../../result.js';
import { SETTINGS_FILE, defaultSettings, parseSettings, type ZoneSettings } from '../settings.js';
import { convertDocument, type ConvertContext, type ConvertedObject } from './convert.js';
import { locateLine, parseJsonDocument, parseYamlDocuments, type SourceDocument } from './documents.js';
import { formatPath, isSubdomain } from './fields.js';
import { isRegistryFile, listRegistryFiles } from './scan.js';

export { isRegistryFile, REGISTRY_EXTENSIONS } from './scan.js';

/** FileObject is a valid object of a file, and where in the file it is. */
export interface FileObject extends ConvertedObject {
  /** Index of its document in the file. */
  doc: number;
}

/** FileResult is what one registry file holds: its good objects and its problems. */
export interface FileResult {
  file: string;
  objects: FileObject[];
  /** The file's documents (text and first line), for rewriting one of them. */
  docs: SourceDocument[];
  problems: Problem[];
  /** Kinds found in the file that the registry does not use (logged at debug). */
  ignored: string[];
}

/** ZoneFiles is one zone folder: its settings and the result of each registry file. */
export interface ZoneFiles {
  domain: string;
  dir: string;
  settings: ZoneSettings;
  settingsProblems: Problem[];
  files: FileResult[];
}


/** parseRegistryFile converts a file's text into objects; every problem carries file and line. */
export function parseRegistryFile(file: string, text: string, ctx: ConvertContext): FileResult {
  const docs = extname(file).toLowerCase() === '.json' ? [parseJsonDocument(text)] : parseYamlDocuments(text);
  const result: FileResult = { file, objects: [], docs: docs.map((d) => d.doc), problems: [], ignored: [] };
  for (const [doc, parsed] of docs.entries()) {
    if (!parsed.ok) {
      result.problems.push({ code: 'ERR_ZONE_PARSE', file, line: parsed.line, message: parsed.message });
      continue;
    }
    const converted = convertDocument(parsed.value, { file, line: parsed.doc.line }, ctx);
    // A List can hold hundreds of thousands of items: no spread into push (call stack limit), and
    // no { ...o, doc } either, which gives each copy a hidden class of its own (V8).
    for (const o of converted.objects) {
      const entry: FileObject = { model: o.model, raw: o.raw, doc };
      if (o.item !== undefined) entry.item = o.item;
      result.objects.push(entry);
    }
    for (const k of converted.ignored) result.ignored.push(k);
    for (const p of converted.problems) {
      const line = locateLine(parsed.doc, p.path);
      result.problems.push({ code: 'ERR_ZONE_INVALID', file, line, path: formatPath(p.path), message: p.message });
    }
  }
  result.problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return result;
}

/** readZoneSettings reads a zone folder's settings file; defaults when there is none. */
export async function readZoneSettings(dir: string, domain: string): Promise<{ settings: ZoneSettings; problems: Problem[] }> {
  const file = join(dir, SETTINGS_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { settings: defaultSettings(domain), problems: [] };
    return { settings: defaultSettings(domain), problems: [{ code: 'ERR_ZONE_SETTINGS', file, message: `cannot read: ${(err as Error).message}` }] };
  }
  const [doc] = parseYamlDocuments(text);
  if (doc && !doc.ok) return { settings: defaultSettings(domain), problems: [{ code: 'ERR_ZONE_SETTINGS', file, line: doc.line, message: doc.message }] };
  const parsed = parseSettings(domain, doc?.value ?? {});
  const problems: Problem[] = parsed.problems.map((p) => ({
    code: 'ERR_ZONE_SETTINGS',
    file,
    line: doc ? locateLine(doc.doc, p.path) : 1,
    path: formatPath(p.path),
    message: p.message,
  }));
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return { settings: parsed.settings, problems };
}

/** readZoneFolder reads one zone folder: its settings file and every registry file in it and below. */
export async function readZoneFolder(dir: string, domain: string): Promise<ZoneFiles> {
  const { settings, problems: settingsProblems } = await readZoneSettings(dir, domain);
  const files: FileResult[] = [];
  for (const file of (await listRegistryFiles(dir)).keys()) files.push(await readRegistryFile(file, { nodePortRange: settings.nodePortRange }));
  return { domain, dir, settings, settingsProblems, files };
}

/** readRegistryFile reads and converts one file; an unreadable file is a problem, not an exception. */
export async function readRegistryFile(file: string, ctx: ConvertContext): Promise<FileResult> {
  try {
    return parseRegistryFile(file, await readFile(file, 'utf8'), ctx);
  } catch (err) {
    const message = `cannot read: ${(err as Error).message}`;
    return { file, objects: [], docs: [], problems: [{ code: 'ERR_ZONE_READ', file, message }], ignored: [] };
  }
}

/** readZonesDir reads every zone folder of a zones directory (one folder per cluster domain). */
export async function readZonesDir(root: string): Promise<{ zones: ZoneFiles[]; problems: Problem[] }> {
  const problems: Problem[] = [];
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (err) {
    const message = `cannot read the zones folder: ${(err as Error).message}. Create it with one folder per cluster domain, e.g. ${join(root, 'cluster.local')}/`;
    return { zones: [], problems: [{ code: 'ERR_ZONE_READ', file: root, message }] };
  }
  const zones: ZoneFiles[] = [];
  for (const entry of entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).sort((a, b) => a.name.localeCompare(b.name))) {
    const domain = entry.name.toLowerCase().replace(/\.$/, '');
    if (!isSubdomain(domain)) {
      problems.push({ code: 'ERR_ZONE_READ', file: join(root, entry.name), message: 'a zone folder must be named after its domain, e.g. cluster.local' });
      continue;
    }
    zones.push(await readZoneFolder(join(root, entry.name), domain));
  }
  if (zones.length === 0 && problems.length === 0) {
    problems.push({ code: 'ERR_ZONE_READ', file: root, message: `holds no zone folder; create ${join(root, 'cluster.local')}/ with Service and EndpointSlice YAML in it` });
  }
  return { zones, problems };
}
