import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { SETTINGS_FILE } from '../settings.js';

/** The file extensions a zone folder's registry files may have. */
export const REGISTRY_EXTENSIONS = ['.yaml', '.yml', '.json'];

/** isRegistryFile tells whether a file name in a zone folder holds registry objects. */
export function isRegistryFile(name: string): boolean {
  return REGISTRY_EXTENSIONS.includes(extname(name).toLowerCase()) && name !== SETTINGS_FILE && !name.startsWith('.');
}

/** FileStat is what tells whether a file changed since it was read. */
export interface FileStat {
  mtimeMs: number;
  size: number;
  ino: number;
}

/** sameStat compares two stats. */
export function sameStat(a: FileStat | undefined, b: FileStat | undefined): boolean {
  return !!a && !!b && a.mtimeMs === b.mtimeMs && a.size === b.size && a.ino === b.ino;
}

/**
 * listRegistryFiles lists the registry files of a zone folder and its sub-folders (folders whose
 * names start with "." are skipped), sorted by path, with their stats.
 */
export async function listRegistryFiles(dir: string, dirs?: Set<string>): Promise<Map<string, FileStat>> {
  const out = new Map<string, FileStat>();
  async function walk(d: string): Promise<void> {
    dirs?.add(d);
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return; // vanished while we looked: the next scan settles it
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const path = join(d, e.name);
      if (e.isDirectory()) {
        if (!e.name.startsWith('.')) await walk(path);
      } else if (isRegistryFile(e.name)) {
        try {
          const s = await stat(path);
          if (s.isFile()) out.set(path, { mtimeMs: s.mtimeMs, size: s.size, ino: s.ino });
        } catch {
          // removed between readdir and stat
        }
      }
    }
  }
  await walk(dir);
  return out;
}
