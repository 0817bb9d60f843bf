import type { Snapshot } from './snapshot.js';

/** SwapListener hears about every new snapshot, after it is live. */
export type SwapListener = (next: Snapshot, previous: Snapshot | undefined) => void;

/**
 * Registry holds the live snapshot. `swap` is one reference assignment: a query sees the old
 * snapshot or the new one, never a mix (as Knot's zone_switch_contents).
 */
export class Registry {
  private snapshot: Snapshot | undefined;
  private readonly listeners: SwapListener[] = [];

  /** current is the live snapshot; undefined until the first load. */
  get current(): Snapshot | undefined {
    return this.snapshot;
  }

  /** swap makes a new snapshot live and tells the listeners. */
  swap(next: Snapshot): void {
    const previous = this.snapshot;
    this.snapshot = next;
    for (const l of this.listeners) l(next, previous);
  }

  /** onSwap registers a listener for new snapshots. */
  onSwap(listener: SwapListener): void {
    this.listeners.push(listener);
  }
}
