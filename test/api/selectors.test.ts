import { expect } from 'chai';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector } from '../../src/api/selectors.js';

const labels = { app: 'web', tier: 'front', 'kubernetes.io/service-name': 'web', version: '3' };

describe('api/selectors: label selectors', () => {
  const rows: Array<{ selector: string; match?: boolean; error?: RegExp }> = [
    { selector: '', match: true },
    { selector: 'app=web', match: true },
    { selector: 'app==web', match: true },
    { selector: 'app=db', match: false },
    { selector: 'app!=db', match: true },
    { selector: 'missing!=x', match: true },
    { selector: 'app=web,tier=front', match: true },
    { selector: 'app=web, tier=back', match: false },
    { selector: 'app in (db, web)', match: true },
    { selector: 'app in (db)', match: false },
    { selector: 'app notin (db,cache)', match: true },
    { selector: 'missing notin (x)', match: true },
    { selector: 'tier', match: true },
    { selector: '!tier', match: false },
    { selector: '!missing', match: true },
    { selector: 'kubernetes.io/service-name=web', match: true },
    { selector: 'version>2', match: true },
    { selector: 'version<3', match: false },
    { selector: 'app=', match: false },
    { selector: 'app in ()', error: /values set can't be empty/ },
    { selector: 'app in (a', error: /expected: ',', '\)' or identifier/ },
    { selector: 'app=web,', error: /identifier after ','/ },
    { selector: '=web', error: /expected: identifier/ },
    { selector: 'a b', error: /expected: in, notin/ },
    { selector: 'bad key!=x', error: /expected/ },
    { selector: 'app=not a value', error: /expected: ',' or 'end of string'/ },
    { selector: '-app=web', error: /invalid label key/ },
    { selector: 'app=-web', error: /invalid label value/ },
    { selector: 'version>x', error: /must be an integer/ },
  ];
  for (const r of rows) {
    it(`${JSON.stringify(r.selector)} ${r.error ? 'is refused' : r.match ? 'matches' : 'does not match'}`, () => {
      const parsed = parseLabelSelector(r.selector);
      if (r.error) {
        expect(parsed.ok, JSON.stringify(parsed)).to.equal(false);
        if (!parsed.ok) expect(parsed.error).to.match(r.error);
        return;
      }
      expect(parsed.ok, JSON.stringify(parsed)).to.equal(true);
      if (parsed.ok) expect(matchLabels(parsed.value, labels)).to.equal(r.match);
    });
  }
});

describe('api/selectors: field selectors', () => {
  const allowed = ['metadata.name', 'metadata.namespace'];
  const fields = { 'metadata.name': 'web', 'metadata.namespace': 'shop' };
  const rows: Array<{ selector: string; match?: boolean; error?: RegExp }> = [
    { selector: 'metadata.name=web', match: true },
    { selector: 'metadata.name==web', match: true },
    { selector: 'metadata.name!=web', match: false },
    { selector: 'metadata.name=web,metadata.namespace=shop', match: true },
    { selector: 'metadata.namespace=default', match: false },
    { selector: 'metadata.name=a\\,b', match: false },
    { selector: 'spec.clusterIP=1.2.3.4', error: /"spec.clusterIP" is not a known field selector: only "metadata.name", "metadata.namespace"/ },
    { selector: 'metadata.name', error: /invalid selector/ },
  ];
  for (const r of rows) {
    it(`${JSON.stringify(r.selector)} ${r.error ? 'is refused' : r.match ? 'matches' : 'does not match'}`, () => {
      const parsed = parseFieldSelector(r.selector, allowed);
      if (r.error) {
        expect(parsed.ok ? 'ok' : parsed.error).to.match(r.error);
        return;
      }
      expect(parsed.ok, JSON.stringify(parsed)).to.equal(true);
      if (parsed.ok) expect(matchFields(parsed.value, fields)).to.equal(r.match);
    });
  }
  it('escapes: a\\,b is one value "a,b"', () => {
    const parsed = parseFieldSelector('metadata.name=a\\,b', allowed);
    expect(parsed.ok && parsed.value).to.deep.equal([{ field: 'metadata.name', op: '=', value: 'a,b' }]);
  });
});
