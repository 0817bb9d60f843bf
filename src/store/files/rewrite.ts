import jsyaml from 'js-yaml';
import { extname } from 'node:path';
import { stringify } from 'yaml';
import type { FileObject, FileResult } from '../../registry/sources/files.js';

/**
 * rewriteFile gives the new text of a registry file with one of its objects replaced (or removed
 * when `next` is null), or null when the object is the file's only content (write or delete the
 * whole file instead). Other documents keep their exact text, comments included; a List is
 * re-serialized as a whole.
 */
export function rewriteFile(result: FileResult, target: FileObject, next: Record<string, unknown> | null): string | null {
  const json = extname(result.file).toLowerCase() === '.json';
  const contentDocs = result.docs.filter((d) => /^\s*[^\s#-]/m.test(d.text.replace(/^---.*$/m, '')));
  if (result.objects.length === 1 && contentDocs.length <= 1 && target.item === undefined) return null;
  if (json) {
    const whole = JSON.parse(result.docs[0]?.text ?? 'null') as Record<string, unknown>;
    if (target.item === undefined) return next ? `${JSON.stringify(next, null, 2)}\n` : '';
    return `${JSON.stringify(withItem(whole, target.item, next), null, 2)}\n`;
  }
  const texts = result.docs.map((d) => d.text);
  const old = texts[target.doc] ?? '';
  const marker = target.doc > 0 || /^---/m.test(old);
  let body: string | null;
  if (target.item === undefined) {
    body = next ? stringify(next) : null;
  } else {
    const list = jsyaml.load(old, { schema: jsyaml.CORE_SCHEMA }) as Record<string, unknown>;
    body = stringify(withItem(list, target.item, next));
  }
  // The comments above the object (its preamble) stay with it; a deleted object takes them along.
  const pre = target.item === undefined ? preamble(old) : '';
  texts[target.doc] = body === null ? '' : `${pre}${marker && !/^---/m.test(pre) ? '---\n' : ''}${body}`;
  return ensureNewline(texts.join(''));
}

/** preamble gives the lines of a document before its content: comments, blank lines and its "---" marker. */
function preamble(doc: string): string {
  const kept: string[] = [];
  for (const line of doc.split('\n')) {
    if (!/^\s*(#.*)?$/.test(line) && !/^---\s*(#.*)?$/.test(line)) break;
    kept.push(line);
  }
  return kept.length ? `${kept.join('\n')}\n` : '';
}

function withItem(list: Record<string, unknown>, item: number, next: Record<string, unknown> | null): Record<string, unknown> {
  const items = Array.isArray(list.items) ? [...(list.items as unknown[])] : [];
  if (next) items[item] = next;
  else items.splice(item, 1);
  return { ...list, items };
}

function ensureNewline(text: string): string {
  return text === '' || text.endsWith('\n') ? text : `${text}\n`;
}
