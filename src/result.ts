/** Result is how parsers and sources report failure: values inside, exceptions only for bugs. */
export type Result<T, E = Problem> = { ok: true; value: T } | { ok: false; error: E };

/** A problem found in the registry or a request, located where a user can fix it. */
export interface Problem {
  /** Catalogue code from src/errors.ts, e.g. ERR_ZONE_INVALID. */
  code: string;
  /** What is wrong and, where it helps, what to do. */
  message: string;
  /** File the problem is in, when it comes from a file. */
  file?: string;
  /** 1-based line in that file. */
  line?: number;
  /** Field path inside the object, e.g. spec.ports[0].port. */
  path?: string;
}

/** ok wraps a value. */
export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });
/** fail wraps an error. */
export const fail = <E>(error: E): { ok: false; error: E } => ({ ok: false, error });

/** formatProblem renders a problem as `file:line: message`, the form editors and CI logs link. */
export function formatProblem(p: Problem): string {
  const where = p.file ? `${p.file}${p.line ? `:${p.line}` : ''}: ` : '';
  const field = p.path ? `${p.path}: ` : '';
  return `${where}${field}${p.message}`;
}
