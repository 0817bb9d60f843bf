import { convertDocument } from '../registry/sources/convert.js';
import { isRecord, type Obj } from './json.js';
import { labelKeyProblem, labelValueProblem } from './selectors.js';
import { fromProblems, type FieldError } from './status.js';

/** Annotations may hold at most this many bytes in total (apimachinery TotalAnnotationSizeLimitB). */
const ANNOTATIONS_LIMIT = 256 * 1024;

/**
 * validateMetadata checks what the API server checks of every object's metadata and the
 * registry's file rules leave alone: label keys and values, annotation keys and their size.
 */
export function validateMetadata(obj: Obj): FieldError[] {
  const meta = isRecord(obj.metadata) ? obj.metadata : {};
  const errors: FieldError[] = [];
  for (const field of ['labels', 'annotations'] as const) {
    const m = meta[field];
    if (m === undefined || m === null) continue;
    if (!isRecord(m)) {
      errors.push({ type: 'Invalid', field: `metadata.${field}`, value: m, detail: 'must be a map of string keys to string values' });
      continue;
    }
    let size = 0;
    for (const [k, v] of Object.entries(m)) {
      const keyProblem = labelKeyProblem(k);
      if (keyProblem) errors.push({ type: 'Invalid', field: `metadata.${field}`, value: k, detail: keyProblem });
      if (typeof v !== 'string') {
        errors.push({ type: 'Invalid', field: `metadata.${field}.${k}`, value: v, detail: 'must be a string' });
        continue;
      }
      size += k.length + v.length;
      const valueProblem = field === 'labels' ? labelValueProblem(v) : undefined;
      if (valueProblem) errors.push({ type: 'Invalid', field: 'metadata.labels', value: v, detail: valueProblem });
    }
    if (field === 'annotations' && size > ANNOTATIONS_LIMIT) errors.push({ type: 'Invalid', field: 'metadata.annotations', detail: `Too long: must have at most ${ANNOTATIONS_LIMIT} bytes` });
  }
  return errors;
}

/**
 * validateObject runs the registry's own converters over an object, so a write through the API
 * is held to exactly the rules (and words) `svcdns check` applies to files. The NodePort range is
 * left to allocation, which refuses with the Kubernetes wording.
 */
export function validateObject(obj: Obj): FieldError[] {
  const converted = convertDocument(obj, {}, { nodePortRange: [1, 65535] });
  return [...validateMetadata(obj), ...fromProblems(converted.problems)];
}

/** validateImmutable refuses a change of a field that cannot change, as ValidateImmutableField does. */
export function validateImmutable(field: string, now: unknown, was: unknown): FieldError[] {
  return JSON.stringify(now) === JSON.stringify(was) ? [] : [{ type: 'Invalid', field, value: now ?? null, detail: 'field is immutable' }];
}
