/**
 * flat returns its argument stored by V8 as one piece. A string built by concatenation (`a + b`,
 * template literals, randomUUID) stays a tree of pieces, 32 bytes per concatenation, until a
 * character is read: a key of `ns/name` kept in a Map costs ~200 bytes as a tree, ~50 flat, and a
 * registry has hundreds of thousands of them. Reading one character flattens the string; the tree
 * is then collected.
 */
export function flat(s: string): string {
  s.charCodeAt(0);
  return s;
}
