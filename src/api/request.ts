import type { IncomingMessage } from 'node:http';
import { fail, ok, type Result } from '../result.js';
import { mediaType, parseBody, readBody, type BodyFormat } from './body.js';
import type { ApiDeps, Target } from './context.js';
import { isRecord, str, type Obj } from './json.js';
import type { ResourceDef } from './resources.js';
import { badRequest, failure, type Status } from './status.js';

/** Body formats by request Content-Type; a missing type is guessed (JSON if it looks like it, else YAML). */
export function bodyFormat(contentType: string | undefined, allowed: readonly string[]): BodyFormat | undefined {
  const t = mediaType(contentType);
  if (t === '') return 'guess';
  if (!allowed.includes(t)) return undefined;
  if (t === 'application/vnd.kubernetes.protobuf') return 'protobuf';
  return t.endsWith('json') ? 'json' : 'yaml';
}

/** The body types a create or replace accepts. */
export const OBJECT_TYPES = ['application/json', 'application/yaml', 'application/x-yaml', 'text/yaml', 'application/vnd.kubernetes.protobuf'];

/** readObject reads and parses a request body of an accepted type (415 otherwise). */
export async function readObject(req: IncomingMessage, deps: ApiDeps, allowed = OBJECT_TYPES): Promise<Result<unknown, Status>> {
  const format = bodyFormat(req.headers['content-type'], allowed);
  if (!format) {
    return fail(failure('UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${allowed.join(', ')}`));
  }
  const buf = await readBody(req, deps.limits);
  if (!buf.ok) return buf;
  return parseBody(buf.value, format, deps.limits);
}

/** checkKind makes sure a body is an object of the resource's kind (kind and apiVersion may be left out). */
export function checkKind(def: ResourceDef, body: unknown): Result<Obj, Status> {
  if (!isRecord(body)) return fail(badRequest(`the object provided is unrecognized (must be of type ${def.kind}): expected a JSON/YAML object`));
  const kind = body.kind ?? def.kind;
  const apiVersion = body.apiVersion ?? def.apiVersion;
  if (kind !== def.kind) return fail(badRequest(`the object provided is unrecognized (must be of type ${def.kind}): kind ${JSON.stringify(kind)} cannot be handled as a ${def.kind}`));
  const accepted = def.kind === 'EndpointSlice' ? [def.apiVersion, 'discovery.k8s.io/v1beta1'] : [def.apiVersion];
  if (typeof apiVersion !== 'string' || !accepted.includes(apiVersion)) return fail(badRequest(`the API version in the data (${String(apiVersion)}) does not match the expected API version (${def.apiVersion})`));
  if (body.metadata !== undefined && !isRecord(body.metadata)) return fail(badRequest('metadata must be an object'));
  return ok({ ...body, kind, apiVersion, metadata: isRecord(body.metadata) ? { ...body.metadata } : {} });
}

/** readKindObject reads a create or replace body: parsed, and an object of the resource's kind. */
export async function readKindObject(req: IncomingMessage, def: ResourceDef, deps: ApiDeps): Promise<Result<Obj, Status>> {
  const body = await readObject(req, deps);
  return body.ok ? checkKind(def, body.value) : body;
}

/** checkNamespace refuses a body whose namespace is not the one in the URL. */
export function checkNamespace(t: Target, obj: Obj): Status | undefined {
  const meta = obj.metadata as Obj;
  if (!t.def.namespaced) return undefined;
  const ns = str(meta.namespace);
  if (ns && ns !== t.namespace) return badRequest('the namespace of the provided object does not match the namespace sent on the request');
  return undefined;
}
