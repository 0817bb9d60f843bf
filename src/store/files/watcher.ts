import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from '../../log.js';

/**
 * DirWatcher watches a set of folders, each with its own non-recursive fs.watch (inotify on the
 * folder): events for files created, written, renamed over or removed inside it. Watching the
 * folders rather than the files survives editors that replace a file by rename. The set is
 * brought up to date after each scan, so new sub-folders are watched too.
 */
export class DirWatcher {
  private readonly watchers = new Map<string, FSWatcher>();

  constructor(
    private readonly onChange: () => void,
    private readonly log: Logger,
  ) {}

  /** sync watches exactly these folders. */
  sync(dirs: ReadonlySet<string>): void {
    for (const [dir, w] of this.watchers) {
      if (dirs.has(dir)) continue;
      w.close();
      this.watchers.delete(dir);
    }
    for (const dir of dirs) {
      if (this.watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, () => this.onChange());
        // A watched folder that disappears errors out; the next scan drops it.
        w.on('error', () => {
          w.close();
          this.watchers.delete(dir);
          this.onChange();
        });
        this.watchers.set(dir, w);
      } catch (err) {
        this.log.debug({ err, dir }, 'cannot watch a folder; relying on the periodic scan');
      }
    }
  }

  /** close stops every watch. */
  close(): void {
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }
}
