import type { Registry } from '../registry/registry.js';
import { sendText, type Route } from './server.js';

/**
 * healthRoutes: `/health` is liveness (200 "OK" while the process serves), `/ready` is 200 "OK"
 * once the registry is loaded and 503 with what is missing before.
 */
export function healthRoutes({ registry }: { registry: Registry }): Route[] {
  return [
    { method: 'GET', path: '/health', handle: ({ res }) => sendText(res, 200, 'OK') },
    {
      method: 'GET',
      path: '/ready',
      handle: ({ res }) => (registry.current ? sendText(res, 200, 'OK') : sendText(res, 503, 'registry: not loaded\n')),
    },
  ];
}
