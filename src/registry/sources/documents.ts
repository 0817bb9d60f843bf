import jsyaml from 'js-yaml';
import { LineCounter, parseDocument, isCollection, type Node } from 'yaml';
import type { Path } from './fields.js';

/** SourceDocument is one YAML document of a file, with the line it starts on. */
export interface SourceDocument {
  /** 1-based line of the document's first line in its file. */
  line: number;
  text: string;
}

/** ParsedDocument is a document's value, or the reason it did not parse. */
export type ParsedDocument =
  | { ok: true; doc: SourceDocument; value: unknown }
  | { ok: false; doc: SourceDocument; line: number; message: string };

// A line that is exactly "---" or "--- <content>" starts a document (YAML 1.2 §9.1). Such a line
// cannot occur inside a scalar (document markers are forbidden there), so splitting on it is safe.
const MARKER = /^---(?:[ \t]|$)/;
const NON_CONTENT = /^\s*(?:#.*)?$|^%/;

/**
 * splitDocuments cuts a multi-document YAML text into its documents, remembering each one's first
 * line, so that a big file parses document by document and errors point at the right line.
 */
export function splitDocuments(text: string): SourceDocument[] {
  const docs: SourceDocument[] = [];
  let start = 0;
  let startLine = 1;
  let line = 1;
  let pos = 0;
  let hasContent = false;
  while (pos <= text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl < 0 ? text.length : nl;
    // Only a line that starts with "---" can be a marker, and once a document has content its
    // other lines need no look (a 200,000-document file has millions of lines).
    const dashes = text.startsWith('---', pos);
    if (!dashes && hasContent) {
      if (nl < 0) break;
      pos = nl + 1;
      line++;
      continue;
    }
    const lineText = text.slice(pos, end);
    const marker = dashes && MARKER.test(lineText);
    if (marker && pos > start && hasContent) {
      docs.push({ line: startLine, text: text.slice(start, pos) });
      start = pos;
      startLine = line;
      hasContent = false;
    }
    // Comments, blank lines and directives before a marker belong to the document that follows.
    if (!NON_CONTENT.test(lineText) && !(marker && lineText.trim() === '---')) hasContent = true;
    if (nl < 0) break;
    pos = nl + 1;
    line++;
  }
  if (start < text.length) docs.push({ line: startLine, text: text.slice(start) });
  return docs;
}

/** parseYamlDocuments parses every document of a YAML text; one bad document does not spoil the others. */
export function parseYamlDocuments(text: string): ParsedDocument[] {
  return splitDocuments(stripBom(text)).map((doc) => {
    try {
      // CORE schema: YAML 1.2 plain types only, as Kubernetes reads them (no implicit dates).
      return { ok: true, doc, value: compact(jsyaml.load(doc.text, { schema: jsyaml.CORE_SCHEMA }), doc.text) };
    } catch (err) {
      const e = err as { reason?: string; message?: string; mark?: { line?: number } };
      return { ok: false, doc, line: doc.line + (e.mark?.line ?? 0), message: e.reason ?? e.message ?? String(err) };
    }
  });
}

/** sourceDocuments cuts a file's text into its documents as the parsers do (a JSON file is one document). */
export function sourceDocuments(json: boolean, text: string): SourceDocument[] {
  return json ? [{ line: 1, text: stripBom(text) }] : splitDocuments(stripBom(text));
}

// The same value as JSON.parse would build it. js-yaml's objects are bigger, and its strings are
// slices of the text, which they keep alive: 100,000 Services with their EndpointSlices took
// 527 MB of heap read from YAML, 378 MB once copied so (the same as read from JSON), and loaded
// faster (less to collect). A value JSON has no form for (.inf, .nan) is kept as js-yaml made it.
function compact(value: unknown, text: string): unknown {
  if (value === null || typeof value !== 'object' || NOT_JSON.test(text)) return value;
  return JSON.parse(JSON.stringify(value));
}
const NOT_JSON = /\.(?:inf|nan)\b/i;

/** parseJsonDocument parses a JSON file, which holds one document (an object or a List). */
export function parseJsonDocument(text: string): ParsedDocument {
  const doc = { line: 1, text: stripBom(text) };
  try {
    return { ok: true, doc, value: JSON.parse(doc.text) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const at = /position (\d+)/.exec(message);
    const line = at ? doc.text.slice(0, Number(at[1])).split('\n').length : 1;
    return { ok: false, doc, line, message: message.replace(/ in JSON at position \d+.*$/, '') };
  }
}

/**
 * locateLine finds the line of a field path in a document, using the yaml library's source
 * positions. Only called for documents with problems: a precise line costs a second, slower parse.
 * A path to a missing field gives the line of its nearest existing parent.
 */
export function locateLine(doc: SourceDocument, path: Path): number {
  const counter = new LineCounter();
  const parsed = parseDocument(doc.text, { lineCounter: counter, uniqueKeys: false, strict: false });
  let node: unknown = parsed.contents;
  let offset = (parsed.contents as Node | null)?.range?.[0];
  for (const key of path) {
    if (!isCollection(node)) break;
    const next: unknown = node.get(key, true);
    if (!next) break;
    node = next;
    offset = (next as Node).range?.[0] ?? offset;
  }
  return offset === undefined ? doc.line : doc.line + counter.linePos(offset).line - 1;
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
