/**
 * WriteQueue runs API writes one at a time: reading the current object, allocating a cluster IP
 * or node port and storing the result happen as one step, so two concurrent creates can never
 * be handed the same address. (The file store serializes its own writes too; this makes the
 * read-allocate-write sequence atomic on top of it.)
 */
export class WriteQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** run queues work behind every earlier write and resolves with its result. */
  run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(work, work);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
