import type { ObjectKey, StoreError } from './types.js';

// The resource as the API server names it in its messages: services, endpointslices, endpoints, namespaces.
const resource = (k: ObjectKey) => `${k.kind.toLowerCase()}${k.kind === 'Endpoints' ? '' : 's'}`;

/** notFound is a write to an object that does not exist, in the API server's words. */
export function notFound(k: ObjectKey): StoreError {
  return { reason: 'NotFound', message: `${resource(k)} "${k.name}" not found` };
}

/** alreadyExists is a create of an object that exists, in the API server's words. */
export function alreadyExists(k: ObjectKey): StoreError {
  return { reason: 'AlreadyExists', message: `${resource(k)} "${k.name}" already exists` };
}

/** conflict is a write made against a revision that is no longer current, in the API server's words. */
export function conflict(k: ObjectKey): StoreError {
  return { reason: 'Conflict', message: `Operation cannot be fulfilled on ${resource(k)} "${k.name}": the object has been modified; please apply your changes to the latest version and try again` };
}
