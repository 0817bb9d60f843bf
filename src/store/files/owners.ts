import { objectKey } from '../../registry/content.js';
import type { FileObject } from '../../registry/sources/files.js';
import type { Problem } from '../../result.js';

/** Owner is where an object is defined: its file and its place in it. */
export interface Owner {
  file: string;
  entry: FileObject;
}

/**
 * Owners knows which file defines each object of a zone: when two files (or one file twice) define
 * the same kind/namespace/name, the first by path (then by place in the file) wins and the other
 * copies are duplicates. It is kept up to date file by file: a changed file costs its own objects,
 * not the zone's (a zone can hold 200,000 objects in a few big files plus one file per API object).
 */
export class Owners {
  private readonly winners = new Map<string, Owner>();
  /** The losing copies of objects defined more than once (rare). */
  private readonly copies = new Map<string, Owner[]>();

  /** get gives the owner of an object (by objectKey: kind/namespace/name). */
  get(id: string): Owner | undefined {
    return this.winners.get(id);
  }

  /** size is the number of objects. */
  get size(): number {
    return this.winners.size;
  }

  /** entries lists every object with its owner. */
  entries(): IterableIterator<[string, Owner]> {
    return this.winners.entries();
  }

  /**
   * replaceFile records that `file` now defines `after` instead of `before` (either may be empty)
   * and adds to `changed` the objects whose definition may have changed.
   */
  replaceFile(file: string, before: readonly FileObject[], after: readonly FileObject[], changed: Set<string>): void {
    for (const entry of before) {
      const id = objectKey(entry.model);
      this.remove(id, file);
      changed.add(id);
    }
    for (const entry of after) {
      const id = objectKey(entry.model);
      this.add(id, { file, entry });
      changed.add(id);
    }
  }

  /** duplicates gives the problems of the objects among `ids` that are defined more than once, in file order. */
  duplicates(ids: Iterable<string>): Array<{ id: string; problem: Problem }> {
    const found: Array<{ id: string; owner: Owner; problem: Problem }> = [];
    for (const id of ids) {
      const copies = this.copies.get(id);
      const first = this.winners.get(id);
      if (!copies || !first) continue;
      for (const owner of copies) {
        const message = `duplicate ${id.replace('//', '/')} (first defined in ${first.file}:${first.entry.model.value.origin.line ?? 1}); this copy is ignored`;
        found.push({ id, owner, problem: { code: 'ERR_ZONE_DUPLICATE', file: owner.file, line: owner.entry.model.value.origin.line, message } });
      }
    }
    return found.sort((a, b) => order(a.owner, b.owner)).map(({ id, problem }) => ({ id, problem }));
  }

  private add(id: string, owner: Owner): void {
    const first = this.winners.get(id);
    if (!first) {
      this.winners.set(id, owner);
      return;
    }
    if (order(owner, first) < 0) {
      this.winners.set(id, owner);
      this.addCopy(id, first);
    } else {
      this.addCopy(id, owner);
    }
  }

  private remove(id: string, file: string): void {
    const copies = this.copies.get(id);
    if (copies) {
      const rest = copies.filter((c) => c.file !== file);
      if (rest.length) this.copies.set(id, rest);
      else this.copies.delete(id);
    }
    if (this.winners.get(id)?.file !== file) return;
    this.winners.delete(id);
    // The first remaining copy takes over.
    const left = this.copies.get(id);
    if (!left) return;
    left.sort(order);
    this.winners.set(id, left.shift()!);
    if (left.length === 0) this.copies.delete(id);
  }

  private addCopy(id: string, owner: Owner): void {
    const list = this.copies.get(id);
    if (list) list.push(owner);
    else this.copies.set(id, [owner]);
  }
}

// Files by path, then documents and List items by place.
function order(a: Owner, b: Owner): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.entry.doc - b.entry.doc || (a.entry.item ?? 0) - (b.entry.item ?? 0);
}
