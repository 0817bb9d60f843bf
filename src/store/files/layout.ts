import { join } from 'node:path';
import type { ObjectKey } from '../types.js';

/** The folder of a zone where objects created through the API are written, one file each. */
export const API_FOLDER = 'api';

/**
 * apiFilePath is where the API writes a new object: zones/<domain>/api/<namespace>/<kind>.<name>.yaml
 * (a Namespace: zones/<domain>/api/<name>/namespace.yaml). Kubernetes names cannot contain "/",
 * so the path is unique per object.
 */
export function apiFilePath(zoneDir: string, key: ObjectKey): string {
  if (key.kind === 'Namespace') return join(zoneDir, API_FOLDER, key.name, 'namespace.yaml');
  return join(zoneDir, API_FOLDER, key.namespace, `${key.kind.toLowerCase()}.${key.name}.yaml`);
}
