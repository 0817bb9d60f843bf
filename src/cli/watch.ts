import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** PathWatcher is a running watch; close stops it. */
export interface PathWatcher {
  close(): void;
}

/**
 * watchPaths resolves once the paths are watched, then calls `onChange` after the registry files under `paths` change, with quick successive
 * events coalesced (debounce) and never two calls at once. A folder is watched with its direct
 * sub-folders (a zones root holds one folder per domain); a file through its folder, since editors
 * save by writing a new file and renaming it over the old one. `svcdns env --watch` uses it rather
 * than the FileStore that `serve` runs: it also watches loose `-f` files, and it keeps the process
 * alive (persistent watches) where serve's listeners do that.
 */
export async function watchPaths(
  paths: readonly string[],
  onChange: () => Promise<void>,
  { debounceMs = 100, onError = (err: unknown) => void err }: { debounceMs?: number; onError?: (err: unknown) => void } = {},
): Promise<PathWatcher> {
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  let closed = false;

  const dirsToWatch = async (): Promise<string[]> => {
    const dirs = new Set<string>();
    for (const p of paths) {
      const isDir = await stat(p).then((s) => s.isDirectory(), () => false);
      if (!isDir) {
        dirs.add(dirname(p));
        continue;
      }
      dirs.add(p);
      const entries = await readdir(p, { withFileTypes: true }).catch(() => []);
      for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.')) dirs.add(join(p, e.name));
    }
    return [...dirs];
  };

  const sync = async () => {
    const want = new Set(await dirsToWatch());
    if (closed) return;
    for (const [dir, w] of watchers) {
      if (!want.has(dir)) {
        w.close();
        watchers.delete(dir);
      }
    }
    for (const dir of want) {
      if (watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: true }, schedule);
        // A watched folder that disappears reports an error: drop it, the next sync re-adds it.
        w.on('error', () => {
          w.close();
          watchers.delete(dir);
        });
        watchers.set(dir, w);
      } catch {
        // Gone between readdir and watch: the parent's event will bring us back here.
      }
    }
  };

  const run = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await sync();
        if (!closed) await onChange().catch(onError);
      } while (again && !closed);
    } finally {
      running = false;
    }
  };

  function schedule(): void {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void run(), debounceMs);
  }

  // Resolve only once the folders are watched, so a load made after this sees every later change.
  await sync();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
