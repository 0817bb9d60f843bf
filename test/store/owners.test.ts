import { expect } from 'chai';
import { parseRegistryFile } from '../../src/registry/sources/files.js';
import { formatProblem } from '../../src/result.js';
import { Owners } from '../../src/store/files/owners.js';

const svc = (name: string, port = 80) => `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: ns}\nspec: {clusterIP: None, ports: [{port: ${port}}]}\n`;
const objectsOf = (file: string, text: string) => parseRegistryFile(file, text, { nodePortRange: [30000, 32767] }).objects;

/** Each step puts a file's new text in force (null: the file is gone). */
interface Row {
  desc: string;
  steps: Array<[file: string, text: string | null]>;
  /** objectKey -> file:port of the copy that wins. */
  winners: Record<string, string>;
  /** The duplicate problems, formatted. */
  duplicates: string[];
  /** The objects the last step may have changed. */
  changed: string[];
}

const rows: Row[] = [
  { desc: 'one file, two objects', steps: [['a.yaml', `${svc('x')}---\n${svc('y')}`]], winners: { 'Service/ns/x': 'a.yaml:80', 'Service/ns/y': 'a.yaml:80' }, duplicates: [], changed: ['Service/ns/x', 'Service/ns/y'] },
  {
    desc: 'the first file by path wins, whatever the order files come in',
    steps: [['b.yaml', svc('x', 81)], ['a.yaml', svc('x', 80)]],
    winners: { 'Service/ns/x': 'a.yaml:80' },
    duplicates: ['b.yaml:1: duplicate Service/ns/x (first defined in a.yaml:1); this copy is ignored'],
    changed: ['Service/ns/x'],
  },
  { desc: 'the winner removed: the copy takes over', steps: [['a.yaml', svc('x', 80)], ['b.yaml', svc('x', 81)], ['a.yaml', null]], winners: { 'Service/ns/x': 'b.yaml:81' }, duplicates: [], changed: ['Service/ns/x'] },
  { desc: 'the copy removed: the winner stays', steps: [['a.yaml', svc('x', 80)], ['b.yaml', svc('x', 81)], ['b.yaml', '']], winners: { 'Service/ns/x': 'a.yaml:80' }, duplicates: [], changed: ['Service/ns/x'] },
  {
    desc: 'twice in one file: the first document wins',
    steps: [['a.yaml', `${svc('x', 80)}---\n${svc('x', 81)}`]],
    winners: { 'Service/ns/x': 'a.yaml:80' },
    duplicates: ['a.yaml:5: duplicate Service/ns/x (first defined in a.yaml:1); this copy is ignored'],
    changed: ['Service/ns/x'],
  },
  { desc: 'an object renamed: both names changed', steps: [['a.yaml', svc('x')], ['a.yaml', svc('z')]], winners: { 'Service/ns/z': 'a.yaml:80' }, duplicates: [], changed: ['Service/ns/x', 'Service/ns/z'] },
  { desc: 'another file untouched: its objects are not changed', steps: [['a.yaml', svc('x')], ['b.yaml', svc('y')], ['b.yaml', svc('y', 82)]], winners: { 'Service/ns/x': 'a.yaml:80', 'Service/ns/y': 'b.yaml:82' }, duplicates: [], changed: ['Service/ns/y'] },
];

describe('file store: which file defines each object (Owners)', () => {
  for (const row of rows) {
    it(row.desc, () => {
      const owners = new Owners();
      const texts = new Map<string, string>();
      let changed = new Set<string>();
      for (const [file, text] of row.steps) {
        changed = new Set();
        owners.replaceFile(file, objectsOf(file, texts.get(file) ?? ''), text === null ? [] : objectsOf(file, text), changed);
        if (text === null) texts.delete(file);
        else texts.set(file, text);
      }
      const winners: Record<string, string> = {};
      for (const [id, o] of owners.entries()) winners[id] = `${o.file}:${o.entry.model.kind === 'Service' ? o.entry.model.value.ports[0]?.port : ''}`;
      expect(winners).to.deep.equal(row.winners);
      expect(owners.size).to.equal(Object.keys(row.winners).length);
      expect(owners.duplicates(Object.keys(row.winners)).map((d) => formatProblem(d.problem))).to.deep.equal(row.duplicates);
      expect([...changed].sort()).to.deep.equal(row.changed);
    });
  }
});
