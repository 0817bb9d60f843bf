import { fail, ok, type Result } from '../result.js';

/** LabelRequirement is one term of a label selector (k8s.io/apimachinery/pkg/labels). */
export interface LabelRequirement {
  key: string;
  op: '=' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';
  values: string[];
}

const QUALIFIED_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** labelKeyProblem says why a label key is not a qualified name, or undefined when it is one. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return 'prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character';
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63 characters), with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
  }
  return undefined;
}

/** labelValueProblem says why a label value is invalid, or undefined when it is valid. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > 63 || !LABEL_VALUE.test(value)) {
    return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63 characters)";
  }
  return undefined;
}

type Token = { kind: 'id' | 'op' | '(' | ')' | ',' | '!'; text: string };

function tokenize(s: string): Result<Token[], string> {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      out.push({ kind: c, text: c });
      i++;
    } else if (s.startsWith('==', i) || s.startsWith('!=', i)) {
      out.push({ kind: 'op', text: s.slice(i, i + 2) });
      i += 2;
    } else if (c === '=' || c === '>' || c === '<') {
      out.push({ kind: 'op', text: c });
      i++;
    } else if (c === '!') {
      out.push({ kind: '!', text: c });
      i++;
    } else {
      let j = i;
      while (j < s.length && !/[\s(),=!<>]/.test(s[j]!)) j++;
      out.push({ kind: 'id', text: s.slice(i, j) });
      i = j;
    }
  }
  return ok(out);
}

/**
 * parseLabelSelector reads the `labelSelector` query syntax: `a=b`, `a==b`, `a!=b`,
 * `a in (x,y)`, `a notin (x,y)`, `a`, `!a`, `a>1`, `a<1`, joined by commas (all must hold).
 */
export function parseLabelSelector(input: string): Result<LabelRequirement[], string> {
  const t = tokenize(input);
  if (!t.ok) return t;
  const toks = t.value;
  const reqs: LabelRequirement[] = [];
  let i = 0;
  const expectId = (what: string): Result<string, string> => {
    const tok = toks[i];
    if (tok?.kind !== 'id') return fail(`unable to parse requirement: found '${tok?.text ?? ''}', expected: ${what}`);
    i++;
    return ok(tok.text);
  };
  while (i < toks.length) {
    let req: LabelRequirement;
    if (toks[i]!.kind === '!') {
      i++;
      const key = expectId('identifier after \'!\'');
      if (!key.ok) return key;
      req = { key: key.value, op: '!', values: [] };
    } else {
      const key = expectId('identifier');
      if (!key.ok) return key;
      const next = toks[i];
      if (next === undefined || next.kind === ',') {
        req = { key: key.value, op: 'exists', values: [] };
      } else if (next.kind === 'op') {
        i++;
        const op = next.text === '==' || next.text === '=' ? '=' : next.text === '!=' ? '!=' : next.text === '>' ? 'gt' : 'lt';
        // An empty value is allowed after = and != ("a=" selects a="").
        let value = '';
        if (toks[i]?.kind === 'id') value = toks[i++]!.text;
        else if (op === 'gt' || op === 'lt') return fail(`unable to parse requirement: for 'gt', 'lt' operators, exactly one value is required`);
        if ((op === 'gt' || op === 'lt') && !/^-?\d+$/.test(value)) return fail(`unable to parse requirement: for 'gt', 'lt' operators, the value must be an integer`);
        req = { key: key.value, op, values: [value] };
      } else if (next.kind === 'id' && (next.text === 'in' || next.text === 'notin')) {
        i++;
        if (toks[i]?.kind !== '(') return fail(`unable to parse requirement: found '${toks[i]?.text ?? ''}', expected: '('`);
        i++;
        if (toks[i]?.kind === ')') return fail(`unable to parse requirement: for 'in', 'notin' operators, values set can't be empty`);
        const values: string[] = [];
        for (;;) {
          const tok = toks[i];
          if (tok?.kind === 'id') {
            values.push(tok.text);
            i++;
          } else values.push(''); // an empty value: "a in (x,)"
          const sep = toks[i++];
          if (sep?.kind === ')') break;
          if (sep?.kind !== ',') return fail(`unable to parse requirement: found '${sep?.text ?? ''}', expected: ',', ')' or identifier`);
        }
        req = { key: key.value, op: next.text, values };
      } else {
        return fail(`unable to parse requirement: found '${next.text}', expected: in, notin, =, ==, !=, gt, lt`);
      }
    }
    const keyProblem = labelKeyProblem(req.key);
    if (keyProblem) return fail(`unable to parse requirement: invalid label key "${req.key}": ${keyProblem}`);
    if (req.op !== 'gt' && req.op !== 'lt') {
      for (const v of req.values) {
        const p = labelValueProblem(v);
        if (p) return fail(`unable to parse requirement: invalid label value: "${v}": at key: "${req.key}": ${p}`);
      }
    }
    reqs.push(req);
    if (i < toks.length) {
      if (toks[i]!.kind !== ',') return fail(`found '${toks[i]!.text}', expected: ',' or 'end of string'`);
      i++;
      if (i === toks.length) return fail(`found '', expected: identifier after ','`);
    }
  }
  return ok(reqs);
}

/** matchLabels tells whether labels satisfy every requirement. */
export function matchLabels(reqs: readonly LabelRequirement[], labels: Readonly<Record<string, string>>): boolean {
  return reqs.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    const v = labels[r.key];
    switch (r.op) {
      case 'exists':
        return has;
      case '!':
        return !has;
      case '=':
      case 'in':
        return has && r.values.includes(v ?? '');
      case '!=':
      case 'notin':
        return !has || !r.values.includes(v ?? '');
      case 'gt':
      case 'lt': {
        if (!has || !/^-?\d+$/.test(v ?? '')) return false;
        const n = Number(v);
        const bound = Number(r.values[0]);
        return r.op === 'gt' ? n > bound : n < bound;
      }
    }
  });
}

/** FieldRequirement is one term of a field selector. */
export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

/**
 * parseFieldSelector reads the `fieldSelector` query syntax (`f=v`, `f==v`, `f!=v`, joined by
 * commas; `\,` `\=` `\\` escape), accepting only the fields given, as the API server does per resource.
 */
export function parseFieldSelector(input: string, allowed: readonly string[]): Result<FieldRequirement[], string> {
  const terms: string[] = [];
  let cur = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c === '\\' && i + 1 < input.length) {
      cur += c + input[++i]!;
    } else if (c === ',') {
      terms.push(cur);
      cur = '';
    } else cur += c;
  }
  if (input !== '') terms.push(cur);
  const reqs: FieldRequirement[] = [];
  for (const term of terms) {
    const m = /^(.*?)(==|!=|=)(.*)$/s.exec(term.replace(/\\([\\,=])/g, (_, x: string) => `\u0000${x.charCodeAt(0)}\u0000`));
    if (!m) return fail(`invalid selector: '${term}'; can't understand '${term}'`);
    const unescape = (s: string) => s.replace(/\u0000(\d+)\u0000/g, (_, n: string) => String.fromCharCode(Number(n)));
    const field = unescape(m[1]!.trim());
    if (!allowed.includes(field)) return fail(`"${field}" is not a known field selector: only ${allowed.map((a) => `"${a}"`).join(', ')}`);
    reqs.push({ field, op: m[2] === '!=' ? '!=' : '=', value: unescape(m[3]!.trim()) });
  }
  return ok(reqs);
}

/** matchFields tells whether an object's selectable fields satisfy every requirement. */
export function matchFields(reqs: readonly FieldRequirement[], fields: Readonly<Record<string, string>>): boolean {
  return reqs.every((r) => ((fields[r.field] ?? '') === r.value) === (r.op === '='));
}
