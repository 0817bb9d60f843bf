import type { ReadyCheck } from '../http/health.js';

/** NamedCheck returns true when its part is ready, or a short reason when it is not. */
export type NamedCheck = () => true | string;

/**
 * Readiness holds the `/ready` checks that parts add while the server runs (`shutdown` during
 * the lameduck; a store that must sync), each named as CoreDNS's ready plugin names its plugins:
 * a failing check shows as "name: reason".
 */
export class Readiness {
  private readonly named = new Map<string, NamedCheck>();

  /** add registers (or replaces) a named check. */
  add(name: string, check: NamedCheck): void {
    this.named.set(name, check);
  }

  /** remove drops a named check. */
  remove(name: string): void {
    this.named.delete(name);
  }

  /** checks gives the named checks as /ready checks, in the order they were added; a check that throws is not ready. */
  checks(): ReadyCheck[] {
    return [...this.named].map(([name, check]) => () => {
      let r: true | string;
      try {
        r = check();
      } catch (err) {
        r = `check failed: ${(err as Error).message}`;
      }
      return r === true ? { ready: true, detail: '' } : { ready: false, detail: `${name}: ${r}` };
    });
  }
}
