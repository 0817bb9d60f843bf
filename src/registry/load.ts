import type { Problem } from '../result.js';
import { collectContent } from './content.js';
import type { ZoneInput } from './snapshot.js';
import { readZonesDir, type ZoneFiles } from './sources/files.js';

/** LoadedZones is a zones folder read in full: what to serve, and every problem found. */
export interface LoadedZones {
  zones: ZoneInput[];
  files: ZoneFiles[];
  problems: Problem[];
  /** Kinds found that the registry ignores, with how many of each. */
  ignored: Map<string, number>;
}

/** zoneInputs turns files read from zone folders into zone inputs; duplicates become problems. */
export function zoneInputs(files: readonly ZoneFiles[]): { zones: ZoneInput[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const zones = files.map((z) => {
    const { content, problems: dup } = collectContent(z.files.flatMap((f) => f.objects.map((o) => o.model)));
    for (const list of [z.settingsProblems, ...z.files.map((f) => f.problems), dup]) for (const p of list) problems.push(p);
    return { settings: z.settings, content };
  });
  return { zones, problems };
}

/** loadZonesDir reads a zones folder (one sub-folder per cluster domain). */
export async function loadZonesDir(root: string): Promise<LoadedZones> {
  const read = await readZonesDir(root);
  const { zones, problems } = zoneInputs(read.zones);
  const ignored = new Map<string, number>();
  for (const f of read.zones.flatMap((z) => z.files)) for (const k of f.ignored) ignored.set(k, (ignored.get(k) ?? 0) + 1);
  return { zones, files: read.zones, problems: [...read.problems, ...problems], ignored };
}
