/**
 * A linear pre-scan of YAML text for nesting depth, to run before the yaml parser: the parser's
 * time grows with the square of the depth (1,000 levels of `[` take ~50 ms, 500,000 take
 * seconds, all on the thread that answers DNS), so a deeply nested body must be refused before it
 * is parsed, not after.
 */

/**
 * yamlNestingOver scans YAML text once and returns the line where nesting passes `max` (flow
 * brackets outside quoted scalars, plus block indentation levels and "- " sequence entries), or 0.
 * It may count a level too many in odd texts (a bracket inside a plain scalar), never too few.
 */
export function yamlNestingOver(text: string, max: number): number {
  let line = 1;
  let flow = 0;
  const indents: number[] = [];
  let lineStart = true;
  let indent = 0;
  let prev = 10; // '\n'
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      line++;
      lineStart = true;
      indent = 0;
      prev = c;
      continue;
    }
    if (lineStart) {
      if (c === 32) {
        indent++;
        prev = c;
        continue;
      }
      if (c === 13 || c === 9) continue;
      if (c === 35) {
        i = skipToEol(text, i);
        continue; // a comment line
      }
      lineStart = false;
      if (flow === 0) {
        while (indents.length && indents[indents.length - 1]! >= indent) indents.pop();
        indents.push(indent);
      }
    }
    if (flow === 0 && c === 45 && (text.charCodeAt(i + 1) === 32 || text.charCodeAt(i + 1) === 10) && (prev === 32 || prev === 10)) {
      // "- " opens a sequence entry: a level, even several on one line ("- - - x").
      indent += 2;
      indents.push(indent);
    } else if (c === 35 && (prev === 32 || prev === 9)) {
      i = skipToEol(text, i);
      continue;
    } else if ((c === 34 || c === 39) && (prev === 32 || prev === 10 || prev === 91 || prev === 123 || prev === 44 || prev === 58 || prev === 9)) {
      const end = skipQuoted(text, i, c);
      for (let j = text.indexOf('\n', i); j >= 0 && j < end; j = text.indexOf('\n', j + 1)) line++;
      i = end;
      prev = c;
      continue;
    } else if (c === 91 || c === 123) flow++;
    else if ((c === 93 || c === 125) && flow > 0) flow--;
    if (flow + indents.length > max) return line;
    prev = c;
  }
  return 0;
}

function skipToEol(text: string, i: number): number {
  const nl = text.indexOf('\n', i);
  return (nl < 0 ? text.length : nl) - 1;
}

// Index of the closing quote of a quoted scalar ('' escapes a single quote, \ in double quotes).
function skipQuoted(text: string, i: number, quote: number): number {
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (quote === 34 && c === 92) j++;
    else if (c === quote) {
      if (quote === 39 && text.charCodeAt(j + 1) === 39) j++;
      else return j;
    }
  }
  return text.length;
}
