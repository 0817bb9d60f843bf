import type { FieldProblem } from '../registry/sources/fields.js';
import { formatPath } from '../registry/sources/fields.js';
import { qualifiedKind, qualifiedResource, type ResourceDef } from './resources.js';

/** StatusReason is a Kubernetes metav1.StatusReason the API uses. */
export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'Invalid'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout';

/** StatusCause is one entry of details.causes: a field and what is wrong with it. */
export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

/** Status is the Kubernetes error (and success) object, as kubectl prints it: "Error from server (NotFound): ...". */
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: StatusReason;
  details?: { name?: string; group?: string; kind?: string; uid?: string; causes?: StatusCause[]; retryAfterSeconds?: number };
  code: number;
}

const CODES: Record<StatusReason, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  AlreadyExists: 409,
  Conflict: 409,
  Gone: 410,
  Expired: 410,
  RequestEntityTooLarge: 413,
  UnsupportedMediaType: 415,
  Invalid: 422,
  InternalError: 500,
  ServiceUnavailable: 503,
  Timeout: 504,
};

/** failure builds a Failure Status with the code of its reason. */
export function failure(reason: StatusReason, message: string, details?: Status['details']): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code: CODES[reason] };
}

/** success builds the Status a DELETE returns for resources that do not return the object. */
export function success(def: ResourceDef, name: string, uid?: string): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, ...(def.group ? { group: def.group } : {}), kind: def.name, ...(uid ? { uid } : {}) }, code: 200 };
}

const detailsOf = (def: ResourceDef, name: string) => ({ name, ...(def.group ? { group: def.group } : {}), kind: def.name });

/** notFound is `services "web" not found` (apimachinery errors.NewNotFound). */
export function notFound(def: ResourceDef, name: string): Status {
  return failure('NotFound', `${qualifiedResource(def)} "${name}" not found`, detailsOf(def, name));
}

/** alreadyExists is `services "web" already exists`. */
export function alreadyExists(def: ResourceDef, name: string): Status {
  return failure('AlreadyExists', `${qualifiedResource(def)} "${name}" already exists`, detailsOf(def, name));
}

/** conflict is the optimistic-concurrency failure kubectl shows for a stale resourceVersion. */
export function conflict(def: ResourceDef, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again'): Status {
  return failure('Conflict', `Operation cannot be fulfilled on ${qualifiedResource(def)} "${name}": ${why}`, detailsOf(def, name));
}

/** FieldError is one field-level validation failure, as apimachinery's field.Error. */
export interface FieldError {
  type: 'Invalid' | 'Required' | 'Forbidden' | 'NotSupported' | 'Duplicate';
  field: string;
  /** The offending value, rendered in the message (JSON, as Kubernetes 1.31 and later do). */
  value?: unknown;
  detail: string;
}

const CAUSE_REASONS: Record<FieldError['type'], string> = {
  Invalid: 'FieldValueInvalid',
  Required: 'FieldValueRequired',
  Forbidden: 'FieldValueForbidden',
  NotSupported: 'FieldValueNotSupported',
  Duplicate: 'FieldValueDuplicate',
};

/** fieldErrorBody renders an error without its field, as field.Error.ErrorBody does. */
export function fieldErrorBody(e: FieldError): string {
  switch (e.type) {
    case 'Required':
      return e.detail ? `Required value: ${e.detail}` : 'Required value';
    case 'Forbidden':
      return e.detail ? `Forbidden: ${e.detail}` : 'Forbidden';
    case 'Duplicate':
      return `Duplicate value: ${renderValue(e.value)}`;
    case 'NotSupported':
      return `Unsupported value: ${renderValue(e.value)}${e.detail ? `: ${e.detail}` : ''}`;
    default:
      return e.value === undefined ? e.detail : `Invalid value: ${renderValue(e.value)}: ${e.detail}`;
  }
}

function renderValue(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? 'null';
}

/**
 * invalid is the 422 Invalid Status (apimachinery errors.NewInvalid): the message lists every
 * field error and details.causes carries each with its field path.
 */
export function invalid(def: ResourceDef, name: string, errors: readonly FieldError[]): Status {
  const lines = errors.map((e) => `${e.field}: ${fieldErrorBody(e)}`);
  const what = lines.length === 1 ? lines[0] : `[${lines.join(', ')}]`;
  return failure('Invalid', `${qualifiedKind(def)} "${name}" is invalid: ${what}`, {
    name,
    ...(def.group ? { group: def.group } : {}),
    kind: def.kind,
    causes: errors.map((e) => ({ reason: CAUSE_REASONS[e.type], message: fieldErrorBody(e), field: e.field })),
  });
}

/**
 * fromProblems turns the registry converters' field problems into field errors: the same rules,
 * and the same words, as `svcdns check` uses for files.
 */
export function fromProblems(problems: readonly FieldProblem[]): FieldError[] {
  return problems.map((p) => (p.message === 'is required' ? { type: 'Required', field: formatPath(p.path), detail: '' } : { type: 'Invalid', field: formatPath(p.path), detail: p.message }));
}

/** badRequest is a 400 Status. */
export function badRequest(message: string): Status {
  return failure('BadRequest', message);
}

/** internalError is a 500 Status (apimachinery errors.NewInternalError). */
export function internalError(message: string): Status {
  return failure('InternalError', `Internal error occurred: ${message}`, { causes: [{ reason: 'UnexpectedServerError', message }] });
}

/** isStatus tells a Status from another object. */
export function isStatus(v: unknown): v is Status {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'Status';
}
