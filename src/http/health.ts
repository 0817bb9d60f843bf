import type { Registry } from '../registry/registry.js';
import type { Readiness } from '../ops/readiness.js';
import { sendText, type Route } from './server.js';

/** ReadyCheck is one more part of readiness (e.g. a shared store): ready or not, and one detail line. */
export type ReadyCheck = () => { ready: boolean; detail: string };

/**
 * healthRoutes: `/health` is liveness, 200 "OK" for as long as the process serves, lameduck
 * included (CoreDNS's health plugin); `/ready` is 200 "OK" once the registry is loaded and every
 * check is ready, and 503 with what is missing otherwise (CoreDNS's ready plugin). Each check adds
 * its detail line to the body either way (e.g. an etcd store that is unreachable but keeps
 * serving its last snapshot says so while staying ready). `readiness` holds the checks modules
 * add while running (`shutdown: shutting down` during the lameduck).
 */
export function healthRoutes({ registry, checks = [], readiness }: { registry: Registry; checks?: readonly ReadyCheck[]; readiness?: Readiness }): Route[] {
  return [
    { method: 'GET', path: '/health', handle: ({ res }) => sendText(res, 200, 'OK') },
    {
      method: 'GET',
      path: '/ready',
      handle: ({ res }) => {
        const results = [...checks, ...(readiness?.checks() ?? [])].map((c) => c());
        const details = results
          .filter((r) => r.detail)
          .map((r) => `${r.detail}\n`)
          .join('');
        if (!registry.current) return sendText(res, 503, `registry: not loaded\n${details}`);
        if (results.some((r) => !r.ready)) return sendText(res, 503, details);
        sendText(res, 200, details ? `OK\n${details}` : 'OK');
      },
    },
  ];
}
