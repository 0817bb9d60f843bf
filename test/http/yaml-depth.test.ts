import { expect } from 'chai';
import { parseDocument, stringify } from 'yaml';
import { DEFAULT_LIMITS, parseBody } from '../../src/api/body.js';
import { yamlNestingOver } from '../../src/http/yaml-depth.js';

const nest = (open: string, close: string, n: number) => open.repeat(n) + close.repeat(n);
const blockNest = (n: number) => `${Array.from({ length: n }, (_, i) => `${'  '.repeat(i)}k${i}:`).join('\n')} 1\n`;

describe('http: YAML nesting pre-scan (before the parser, whose time grows with the square of the depth)', () => {
  const rows: Array<{ desc: string; text: string; max?: number; line: number }> = [
    { desc: '63 levels of flow sequences', text: nest('[', ']', 63), line: 0 },
    { desc: '65 levels of flow sequences', text: nest('[', ']', 65), line: 1 },
    { desc: '200,000 levels of flow maps', text: `${'{a: '.repeat(200_000)}1${'}'.repeat(200_000)}`, line: 1 },
    { desc: '60 levels of block maps', text: blockNest(60), line: 0 },
    { desc: '100 levels of block maps', text: blockNest(100), line: 65 },
    { desc: '70 compact sequences on one line', text: `${'- '.repeat(70)}x\n`, line: 1 },
    { desc: 'brackets inside quoted scalars do not count', text: `a: "${'['.repeat(100)}"\nb: '${'{'.repeat(100)}'\nc: "x\\"${'['.repeat(100)}"\n`, line: 0 },
    { desc: 'comments do not count', text: `# ${'['.repeat(100)}\na: 1 # ${'{'.repeat(100)}\n`, line: 0 },
    { desc: 'a Service', text: stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', labels: { app: 'web' } }, spec: { ports: [{ name: 'http', port: 80 }] } }), line: 0 },
  ];
  for (const r of rows) {
    it(`${r.desc}: ${r.line ? `over 64 at line ${r.line}` : 'within 64'}`, () => expect(yamlNestingOver(r.text, r.max ?? 64)).to.equal(r.line));
  }

  it('never counts fewer levels than the parser builds (300 random documents, block and flow styles)', () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
    const gen = (depth: number): unknown => {
      if (depth === 0 || rand() < 0.15) return pick([1, 'x', 'a b', '"q"', "it's", '[not', '#no', null, true]);
      if (rand() < 0.5) return Array.from({ length: 1 + Math.floor(rand() * 3) }, () => gen(depth - 1));
      return Object.fromEntries(Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, i) => [`k${i}`, gen(depth - 1)]));
    };
    const depthOf = (v: unknown): number => (v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v).map(depthOf)) : 0);
    for (let i = 0; i < 300; i++) {
      const value = gen(2 + Math.floor(rand() * 12));
      const text = stringify(value, { collectionStyle: pick(['any', 'block', 'flow'] as const), indent: pick([1, 2, 4]) });
      expect(parseDocument(text).toJS(), text).to.deep.equal(value);
      const d = depthOf(value);
      if (d > 0) expect(yamlNestingOver(text, d - 1), `depth ${d}:\n${text}`).to.be.above(0);
    }
  });

  it('the API refuses deeply nested YAML before parsing it, and YAML over 256 KiB', () => {
    const deep = parseBody(Buffer.from(nest('[', ']', 100_000)), 'yaml', DEFAULT_LIMITS);
    expect(deep.ok ? 'accepted' : `${deep.error.reason}: ${deep.error.message}`).to.equal('BadRequest: the request body nests deeper than 64 levels (line 1)');
    const big = parseBody(Buffer.from(`a: ${'x'.repeat(300 << 10)}\n`), 'yaml', DEFAULT_LIMITS);
    expect(big.ok ? 'accepted' : `${big.error.reason}: ${big.error.message}`).to.match(/^RequestEntityTooLarge: .*limit is 262144 for YAML/);
  });
});
