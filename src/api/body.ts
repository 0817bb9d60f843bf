import type { IncomingMessage } from 'node:http';
import { parseDocument } from 'yaml';
import { yamlNestingOver } from '../http/yaml-depth.js';
import { fail, ok, type Result } from '../result.js';
import { isRecord, withinDepth } from './json.js';
import { decodeKubeProtobuf } from './protobuf.js';
import { badRequest, failure, type Status } from './status.js';

/** BodyLimits bound what a request body may cost to read and parse. */
export interface BodyLimits {
  /** Bytes; larger bodies get 413 RequestEntityTooLarge. */
  maxBytes: number;
  /** YAML aliases per document (alias bombs: "billion laughs"). */
  maxAliases: number;
  /** Nesting depth of objects and lists. */
  maxDepth: number;
  /** Bytes of a YAML body (default DEFAULT_MAX_YAML_BYTES); JSON bodies have maxBytes. */
  maxYamlBytes?: number;
}

/** DEFAULT_MAX_YAML_BYTES: 256 KiB of YAML parse in ~0.3 s here, 1 MiB would block DNS ~1.2 s. */
export const DEFAULT_MAX_YAML_BYTES = 256 << 10;

/** DEFAULT_LIMITS: 1 MiB (a Service is a few hundred bytes; etcd's own limit is 1.5 MiB). */
export const DEFAULT_LIMITS: BodyLimits = { maxBytes: 1 << 20, maxAliases: 20, maxDepth: 64 };

/** The body formats a request may use. */
export type BodyFormat = 'json' | 'yaml' | 'protobuf' | 'guess';

/** mediaType reads the media type of a Content-Type header, lower-case and without parameters. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * readBody reads a request body up to the limit. A declared Content-Length over the limit is
 * refused before a byte is read; a chunked body is cut off as soon as it passes the limit.
 */
export async function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Result<Buffer, Status>> {
  const tooLarge = () => failure('RequestEntityTooLarge', `Request entity too large: limit is ${limits.maxBytes}`);
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limits.maxBytes) return fail(tooLarge());
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limits.maxBytes) return fail(tooLarge());
      chunks.push(chunk);
    }
  } catch (err) {
    return fail(badRequest(`cannot read the request body: ${(err as Error).message}`));
  }
  return ok(Buffer.concat(chunks));
}

/**
 * parseBody turns a body into a JSON value: JSON, YAML (one document, the YAML 1.2 core schema
 * as Kubernetes reads it, few aliases), or the Kubernetes protobuf of the kinds kubectl sends
 * that way. Anything else is a 400 BadRequest (415 for a format not spoken here).
 */
export function parseBody(buf: Buffer, format: BodyFormat, limits: BodyLimits): Result<unknown, Status> {
  if (buf.length === 0) return fail(badRequest('the request body is empty: send the object as JSON or YAML'));
  let value: unknown;
  if (format === 'protobuf') {
    const r = decodeKubeProtobuf(buf);
    if (!r.ok) return fail(failure('UnsupportedMediaType', r.error));
    value = r.value;
  } else {
    const textResult = decodeText(buf);
    if (!textResult.ok) return textResult;
    const text = textResult.value;
    if (format === 'json' || (format === 'guess' && /^\s*[[{]/.test(text))) {
      try {
        value = JSON.parse(text);
      } catch (err) {
        return fail(badRequest(`the request body is not valid JSON: ${(err as Error).message}`));
      }
    } else {
      const r = parseYaml(text, limits);
      if (!r.ok) return r;
      value = r.value;
    }
  }
  if (!withinDepth(value, limits.maxDepth)) return fail(badRequest(`the request body nests deeper than ${limits.maxDepth} levels`));
  if (hasProtoKey(value)) return fail(badRequest('the request body uses the reserved key "__proto__"'));
  return ok(value);
}

function decodeText(buf: Buffer): Result<string, Status> {
  try {
    return ok(new TextDecoder('utf-8', { fatal: true }).decode(buf).replace(/^\uFEFF/, ''));
  } catch {
    return fail(badRequest('the request body is not UTF-8 text: send JSON or YAML'));
  }
}

function parseYaml(text: string, limits: BodyLimits): Result<unknown, Status> {
  // The yaml parser runs on the thread that answers DNS, at ~1.2 s per MiB and with a time that
  // grows with the square of the nesting: bound both before it starts (issue 7, hardening).
  const maxYaml = limits.maxYamlBytes ?? DEFAULT_MAX_YAML_BYTES;
  if (text.length > maxYaml) return fail(failure('RequestEntityTooLarge', `Request entity too large: limit is ${maxYaml} for YAML (send JSON, as kubectl does, for larger objects)`));
  // The pre-scan may count a level or two too many (it is cheap, not exact): twice the limit here
  // bounds the parser's time, and the exact limit is checked on the parsed value below.
  const deepAt = yamlNestingOver(text, limits.maxDepth * 2);
  if (deepAt) return fail(badRequest(`the request body nests deeper than ${limits.maxDepth} levels (line ${deepAt})`));
  try {
    const doc = parseDocument(text, { schema: 'core', uniqueKeys: true, prettyErrors: false });
    const err = doc.errors[0];
    if (err) {
      if (err.code === 'MULTIPLE_DOCS') return fail(badRequest('the request body holds several YAML documents: send one object per request'));
      return fail(badRequest(`the request body is not valid YAML: ${err.message.split('\n')[0]}`));
    }
    return ok(doc.toJS({ maxAliasCount: limits.maxAliases }));
  } catch (err) {
    // yaml throws a ReferenceError when aliases expand past maxAliasCount (a "billion laughs" body).
    return fail(badRequest(`the request body is not valid YAML: ${(err as Error).message}`));
  }
}

function hasProtoKey(v: unknown): boolean {
  const stack = [v];
  while (stack.length) {
    const x = stack.pop();
    if (Array.isArray(x)) stack.push(...x);
    else if (isRecord(x)) {
      if (Object.hasOwn(x, '__proto__')) return true;
      stack.push(...Object.values(x));
    }
  }
  return false;
}
