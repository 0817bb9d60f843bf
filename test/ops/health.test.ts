import { expect } from 'chai';
import { healthRoutes } from '../../src/http/health.js';
import { createHttpServer, type HttpServer } from '../../src/http/server.js';
import { silentLogger } from '../../src/log.js';
import { Readiness } from '../../src/ops/readiness.js';
import { Registry } from '../../src/registry/registry.js';
import { loadRegistry } from '../helpers/server.js';

describe('health: /health is liveness, /ready lists what is not ready', () => {
  let http: HttpServer;
  let base: string;
  const registry = new Registry();
  const readiness = new Readiness();
  let synced = false;
  before(async () => {
    http = createHttpServer({ log: silentLogger(), routes: healthRoutes({ registry, readiness }) });
    base = `http://127.0.0.1:${(await http.listen('127.0.0.1', 0)).port}`;
    // A later module (a shared store) plugs in its own check.
    readiness.add('etcd', () => (synced ? true : 'not synced'));
    readiness.add('broken', () => {
      throw new Error('boom');
    });
  });
  after(() => http.close());
  const get = async (path: string) => {
    const res = await fetch(`${base}${path}`);
    return [res.status, await res.text()];
  };

  const steps: Array<{ desc: string; act: () => Promise<void> | void; ready: [number, string] }> = [
    { desc: 'nothing loaded: every failing part, one line each', act: () => undefined, ready: [503, 'registry: not loaded\netcd: not synced\nbroken: check failed: boom\n'] },
    { desc: 'a check removed', act: () => readiness.remove('broken'), ready: [503, 'registry: not loaded\netcd: not synced\n'] },
    { desc: 'registry loaded', act: async () => registry.swap((await loadRegistry()).current!), ready: [503, 'etcd: not synced\n'] },
    { desc: 'store synced', act: () => void (synced = true), ready: [200, 'OK'] },
    { desc: 'shutting down', act: () => readiness.add('shutdown', () => 'shutting down'), ready: [503, 'shutdown: shutting down\n'] },
  ];
  for (const s of steps) {
    it(`${s.desc}: /ready ${s.ready[0]}, /health 200 OK`, async () => {
      await s.act();
      expect(await get('/ready')).to.deep.equal(s.ready);
      expect(await get('/health')).to.deep.equal([200, 'OK']);
    });
  }
});
