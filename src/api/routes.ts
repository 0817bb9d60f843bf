import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Route } from '../http/server.js';
import type { Logger } from '../log.js';
import type { ObjectStore } from '../store/types.js';
import { AllocationIndex } from './allocate.js';
import { authorize, type AuthConfig } from './auth.js';
import { DEFAULT_LIMITS, type BodyLimits } from './body.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, OPENAPI_V2_STUB, versionInfo } from './discovery.js';
import { handleResource, type ApiDeps, type Target } from './handlers.js';
import { WriteQueue } from './queue.js';
import { findResource } from './resources.js';
import { sendObject, sendStatus } from './respond.js';
import { failure, internalError, type Status } from './status.js';

/** ApiOptions configure the Kubernetes-style registry API. */
export interface ApiOptions {
  store: ObjectStore;
  /** The zone (cluster domain) the API serves: reads come from it, writes go to it. */
  zone: string;
  auth: AuthConfig;
  log: Logger;
  /** svcdns's version, shown in /version. */
  version: string;
  limits?: BodyLimits;
  now?: () => number;
  random?: () => number;
  /** Lifetime of a watch that gives no timeoutSeconds. */
  watchTimeoutSeconds?: number;
}

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/**
 * resolveTarget reads a resource URL: /api/v1/<resource>[/<name>[/<sub>]] for cluster-scoped
 * resources and lists across namespaces, /api/v1/namespaces/<ns>/<resource>[/<name>[/<sub>]] for
 * namespaced ones; /apis/discovery.k8s.io/v1/... alike. null: not a resource URL (404).
 */
export function resolveTarget(path: string): Target | null {
  const m = /^\/(?:api\/v1|apis\/(discovery\.k8s\.io)\/v1)\/(.+)$/.exec(path);
  if (!m) return null;
  const group = m[1] ?? '';
  let segs: string[];
  try {
    segs = m[2]!.split('/').map(decodeURIComponent);
  } catch {
    return null;
  }
  if (segs.some((s) => s === '')) return null;
  let namespace: string | undefined;
  // /api/v1/namespaces/<ns>/<resource>: a namespaced resource inside a namespace; otherwise
  // /api/v1/namespaces/<name>[/status] is the Namespace object itself.
  if (segs[0] === 'namespaces' && segs.length >= 3 && findResource(group, segs[2]!)?.namespaced) {
    namespace = segs[1];
    segs = segs.slice(2);
  }
  const [resource, name, sub, ...rest] = segs;
  const def = findResource(group, resource ?? '');
  if (!def || rest.length) return null;
  if (namespace !== undefined && !NAME.test(namespace)) return null;
  if (def.namespaced && namespace === undefined && name !== undefined) return null;
  if (sub !== undefined && (sub !== 'status' || !def.subresources.includes('status'))) return null;
  return { def, ...(namespace !== undefined ? { namespace } : {}), ...(name !== undefined ? { name } : {}), ...(sub ? { subresource: 'status' as const } : {}) };
}

const DISCOVERY_PATHS = new Set(['/api', '/api/v1', '/apis', '/apis/discovery.k8s.io', '/apis/discovery.k8s.io/v1', '/version', '/openapi/v2']);

/**
 * apiRoutes serves the registry in Kubernetes' REST shape, so kubectl can drive it: discovery,
 * /version, the /openapi/v2 stub, and services, endpointslices, endpoints and namespaces. Every
 * request is authorized from its headers before its body is read; every error is a Status.
 */
export function apiRoutes(opts: ApiOptions): Route[] {
  const log = opts.log.child({ module: 'api' });
  const deps: ApiDeps = {
    store: opts.store,
    zone: opts.zone,
    log,
    index: new AllocationIndex(opts.store.cache, opts.zone),
    limits: opts.limits ?? DEFAULT_LIMITS,
    queue: new WriteQueue(),
    now: opts.now ?? Date.now,
    random: opts.random ?? Math.random,
    startedAt: (opts.now ?? Date.now)(),
    ...(opts.watchTimeoutSeconds ? { watchTimeoutSeconds: opts.watchTimeoutSeconds } : {}),
  };
  const handle = async ({ req, res, url }: { req: IncomingMessage; res: ServerResponse; url: URL }) => {
    try {
      await serve(req, res, url, deps, opts);
    } catch (err) {
      log.error({ err, method: req.method, path: url.pathname }, 'API request failed');
      if (!res.headersSent) sendStatus(res, internalError((err as Error).message));
      else res.destroy();
    }
  };
  return [{ method: '*', path: /^\/(?:api|apis|version|openapi)(?:\/.*)?$/, handle }];
}

async function serve(req: IncomingMessage, res: ServerResponse, url: URL, deps: ApiDeps, opts: ApiOptions): Promise<void> {
  const method = req.method ?? 'GET';
  const write = !['GET', 'HEAD', 'OPTIONS'].includes(method);
  const denied: Status | undefined = authorize(req, write, opts.auth);
  if (denied) {
    if (denied.code === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="svcdns"');
    return sendStatus(res, denied, { closeConnection: write });
  }
  const path = url.pathname.replace(/\/+$/, '') || '/';
  if (DISCOVERY_PATHS.has(path) || path.startsWith('/openapi/')) {
    if (method !== 'GET') return sendStatus(res, failure('MethodNotAllowed', 'the server does not allow this method on the requested resource'), { closeConnection: true });
    return discovery(req, res, path, opts);
  }
  const target = resolveTarget(path);
  if (!target) return sendStatus(res, failure('NotFound', 'the server could not find the requested resource', {}), { closeConnection: write });
  await handleResource(req, res, url, target, deps);
}

function discovery(req: IncomingMessage, res: ServerResponse, path: string, opts: ApiOptions): void {
  switch (path) {
    case '/api':
      return sendObject(res, 200, apiVersions(req.headers.host ?? '127.0.0.1'));
    case '/api/v1':
      return sendObject(res, 200, apiResourceList(''));
    case '/apis':
      return sendObject(res, 200, apiGroupList());
    case '/apis/discovery.k8s.io':
      return sendObject(res, 200, apiGroup());
    case '/apis/discovery.k8s.io/v1':
      return sendObject(res, 200, apiResourceList('discovery.k8s.io'));
    case '/version':
      return sendObject(res, 200, versionInfo(opts.version));
    case '/openapi/v2': {
      // application/octet-stream, not the Accept type: Go's mime parser chokes on its "@".
      const json = /application\/json/.test(req.headers.accept ?? '') && !/protobuf/.test(req.headers.accept ?? '');
      if (json) return sendObject(res, 200, { swagger: '2.0', info: { title: 'svcdns', version: 'v1' }, paths: {}, definitions: {} });
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': OPENAPI_V2_STUB.length });
      res.end(OPENAPI_V2_STUB);
      return;
    }
    default:
      // /openapi/v3 is not served: kubectl then uses /openapi/v2 and its built-in types.
      return sendStatus(res, failure('NotFound', 'the server could not find the requested resource', {}));
  }
}
