import { expect } from 'chai';
import { parseYamlDocuments, splitDocuments } from '../../src/registry/sources/documents.js';

// Values come out as JSON.parse would build them (smaller than js-yaml's), except those JSON
// cannot hold, which stay as YAML 1.2's core schema reads them.
const values: Array<{ desc: string; yaml: string; value: unknown }> = [
  { desc: 'a mapping with a list', yaml: 'a: 1\nb: [x, "y", 2.5, true, null]\n', value: { a: 1, b: ['x', 'y', 2.5, true, null] } },
  { desc: 'a long string (js-yaml slices it out of the text)', yaml: 'name: a-rather-long-service-name-of-forty-chars\n', value: { name: 'a-rather-long-service-name-of-forty-chars' } },
  { desc: 'a scalar document', yaml: 'hello\n', value: 'hello' },
  { desc: 'an empty document', yaml: '# nothing\n', value: null },
  { desc: '.inf and .nan stay numbers', yaml: 'port: .inf\nweight: -.Inf\nx: .NaN\n', value: { port: Infinity, weight: -Infinity, x: NaN } },
  { desc: 'core schema: no implicit dates', yaml: 'at: 2024-01-01\n', value: { at: '2024-01-01' } },
];

const splits: Array<{ desc: string; yaml: string; lines: number[] }> = [
  { desc: 'documents and their first lines', yaml: 'a: 1\n---\nb: 2\n--- # c\nc: 3\n', lines: [1, 2, 4] },
  { desc: 'a comment between documents stays with the one above', yaml: 'a: 1\n# about b\n---\nb: 2\n', lines: [1, 3] },
  { desc: 'a leading marker, and "----" is not one', yaml: '---\na: |\n  ----\n  x\n', lines: [1] },
  { desc: 'a marker with nothing before it starts no empty document', yaml: '# head\n---\na: 1\n', lines: [1] },
];

describe('registry: YAML documents', () => {
  for (const row of values) {
    it(row.desc, () => {
      const [doc] = parseYamlDocuments(row.yaml);
      expect(doc?.ok).to.equal(true);
      expect(doc && doc.ok ? doc.value : undefined).to.deep.equal(row.value);
    });
  }
  for (const row of splits) {
    it(`split: ${row.desc}`, () => {
      const docs = splitDocuments(row.yaml);
      expect(docs.map((d) => d.line)).to.deep.equal(row.lines);
      expect(docs.map((d) => d.text).join('')).to.equal(row.yaml);
    });
  }
});
