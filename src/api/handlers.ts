import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkDryRun, viewOf, type ApiDeps, type Handled, type Target } from './context.js';
import { remove } from './delete.js';
import { get, list } from './read.js';
import { sendStatus } from './respond.js';
import { failure } from './status.js';
import { create, patch, update } from './write.js';

/** The handlers' dependencies and targets, for the routes. */
export type { ApiDeps, Target } from './context.js';

/** handleResource serves one request on a resource URL (authorization is already done). */
export async function handleResource(req: IncomingMessage, res: ServerResponse, url: URL, target: Target, deps: ApiDeps): Handled {
  const view = viewOf(deps);
  if (!view.ok) return sendStatus(res, view.error);
  const method = req.method ?? 'GET';
  const { def, name } = target;
  const notAllowed = () => sendStatus(res, failure('MethodNotAllowed', `the server does not allow this method on the requested resource`), { closeConnection: true });
  if (method === 'GET') return name === undefined ? list(res, req, url, target, view.value, deps) : get(res, req, url, target, view.value);
  if (def.readOnly) return notAllowed();
  const dry = checkDryRun(url.searchParams);
  if (dry) return sendStatus(res, dry, { closeConnection: true });
  if (method === 'POST' && name === undefined && !target.subresource) return create(req, res, url, target, view.value, deps);
  if (method === 'PUT' && name !== undefined) return update(req, res, url, target, deps);
  if (method === 'PATCH' && name !== undefined) return patch(req, res, url, target, deps);
  if (method === 'DELETE' && name !== undefined && !target.subresource) return remove(req, res, url, target, deps);
  return notAllowed();
}
