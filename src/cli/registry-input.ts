import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SvcdnsError } from '../errors.js';
import { joinZone, type ZoneView } from '../registry/content.js';
import { loadZonesDir, zoneInputs } from '../registry/load.js';
import { SETTINGS_FILE, defaultSettings } from '../registry/settings.js';
import type { ZoneInput } from '../registry/snapshot.js';
import { readRegistryFile, readZoneFolder, type FileResult, type ZoneFiles } from '../registry/sources/files.js';
import { isSubdomain } from '../registry/sources/fields.js';
import { formatProblem, type Problem } from '../result.js';
import { DEFAULT_DOMAIN } from '../envvars/zone.js';
import type { Flags } from './args.js';

/** The zones folder when neither --zones nor -f is given. */
export const DEFAULT_ZONES = './zones';

/**
 * Flags that say where the registry is, shared by `check`, `env` and `resolv-conf`: either a zones
 * folder (one sub-folder per domain), or registry files / one zone folder read as the zone --domain.
 */
export const REGISTRY_FLAGS = {
  zones: { type: 'string', arg: 'DIR', help: `registry folder, one sub-folder per cluster domain (default ${DEFAULT_ZONES})` },
  file: {
    type: 'string',
    short: 'f',
    multiple: true,
    arg: 'PATH',
    help: 'a registry file, or a folder of them (with its _settings.yaml), read as the one zone --domain; repeatable, instead of --zones',
  },
  domain: { type: 'string', arg: 'DOMAIN', help: `cluster domain: the zone to use (default ${DEFAULT_DOMAIN}, else the first zone)` },
} satisfies Flags;

/** RegistrySource says where to read the registry from. */
export type RegistrySource = { kind: 'zones'; root: string; domain?: string } | { kind: 'files'; paths: string[]; domain: string };

/** LoadedRegistry is the registry read for a one-off command: joined zones and every problem. */
export interface LoadedRegistry {
  zones: ZoneView[];
  problems: Problem[];
}

/** givenOnCommandLine tells whether --flag is in argv, so that a command-line -f beats SVCDNS_ZONES. */
export function givenOnCommandLine(argv: readonly string[], flag: string): boolean {
  return argv.some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`));
}

/** registrySource resolves the registry flags; --zones and -f together are a usage error. */
export function registrySource(argv: readonly string[], values: { zones: string | undefined; file: string[]; domain: string | undefined }): RegistrySource {
  const domain = values.domain?.toLowerCase().replace(/\.$/, '');
  if (domain !== undefined && !isSubdomain(domain)) throw new SvcdnsError('ERR_CONFIG', `--domain ${values.domain}: expected a domain such as cluster.local`);
  if (values.file.length) {
    // SVCDNS_ZONES from the environment yields to -f on the command line; two command-line sources conflict.
    if (givenOnCommandLine(argv, 'zones')) throw new SvcdnsError('ERR_CONFIG', 'give either --zones DIR or -f PATH, not both');
    return { kind: 'files', paths: values.file, domain: domain ?? DEFAULT_DOMAIN };
  }
  return { kind: 'zones', root: values.zones ?? DEFAULT_ZONES, ...(domain !== undefined ? { domain } : {}) };
}

/** loadRegistryInputs reads the registry as zone inputs (for a snapshot); every problem has its file and line. */
export async function loadRegistryInputs(src: RegistrySource): Promise<{ zones: ZoneInput[]; problems: Problem[] }> {
  if (src.kind === 'zones') return loadZonesDir(src.root);
  const zone = await readZoneFiles(src.paths, src.domain);
  const { zones, problems } = zoneInputs([zone.files]);
  return { zones, problems: [...zone.problems, ...problems] };
}

/** loadRegistrySource reads the registry and joins each zone's Services to their endpoints. */
export async function loadRegistrySource(src: RegistrySource): Promise<LoadedRegistry> {
  const { zones, problems } = await loadRegistryInputs(src);
  return { zones: zones.map((z) => joinZone(z.settings, z.content)), problems };
}

/**
 * readZoneFiles reads -f paths as one zone: a folder is read as a zone folder (its _settings.yaml
 * gives the zone settings; the first folder with one wins), a file as a registry file.
 */
async function readZoneFiles(paths: readonly string[], domain: string): Promise<{ files: ZoneFiles; problems: Problem[] }> {
  const problems: Problem[] = [];
  const folders: Array<{ zone: ZoneFiles; hasSettings: boolean }> = [];
  const files: string[] = [];
  for (const p of paths) {
    try {
      if ((await stat(p)).isDirectory()) {
        const hasSettings = await stat(join(p, SETTINGS_FILE)).then(() => true, () => false);
        folders.push({ zone: await readZoneFolder(p, domain), hasSettings });
      } else files.push(p);
    } catch (err) {
      problems.push({ code: 'ERR_ZONE_READ', file: p, message: `cannot read: ${(err as Error).message}` });
    }
  }
  // The zone settings come from the first folder that has a settings file, else the defaults.
  const withSettings = folders.find((f) => f.hasSettings);
  const settings = withSettings?.zone.settings ?? defaultSettings(domain);
  const results: FileResult[] = folders.flatMap((f) => f.zone.files);
  for (const file of files) results.push(await readRegistryFile(file, { nodePortRange: settings.nodePortRange }));
  const settingsProblems = folders.flatMap((f) => f.zone.settingsProblems);
  return { files: { domain, dir: paths[0] ?? '.', settings, settingsProblems, files: results }, problems };
}

/** watchPaths lists what to watch for a source: the zones folder, or the -f files and folders. */
export function watchPaths(src: RegistrySource): string[] {
  return src.kind === 'zones' ? [resolve(src.root)] : [...new Set(src.paths.map((p) => resolve(p)))];
}

/**
 * loadOrFail reads the registry for a one-off command; with any problem it lists them on `err`
 * as file:line: message and throws (exit status 2): output from a half-read registry would lie.
 */
export async function loadOrFail(src: RegistrySource, err: NodeJS.WritableStream): Promise<ZoneView[]> {
  const loaded = await loadRegistrySource(src);
  if (loaded.problems.length === 0) return loaded.zones;
  for (const p of loaded.problems) err.write(`${formatProblem(p)}\n`);
  const where = src.kind === 'zones' ? src.root : src.paths.join(', ');
  const code = loaded.problems.every((p) => p.code === 'ERR_ZONE_READ') ? 'ERR_ZONE_READ' : 'ERR_ZONE_INVALID';
  throw new SvcdnsError(code, `${loaded.problems.length} problem(s) in the registry ${where} (listed above); fix them (svcdns check lists them)`);
}
