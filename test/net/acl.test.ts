import { expect } from 'chai';
import { Acl, DEFAULT_RECURSION_CIDRS, parseCidrList } from '../../src/net/acl.js';

describe('acl: who may use recursion', () => {
  const parsed = parseCidrList(DEFAULT_RECURSION_CIDRS.join(','));
  if (!parsed.ok) throw new Error(parsed.bad);
  const acl = new Acl(parsed.value);
  const rows: Array<[string, boolean]> = [
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['::1', true],
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['172.32.0.1', false],
    ['192.168.10.20', true],
    ['169.254.1.1', true],
    ['fd00::5', true],
    ['fe80::1%eth0', true],
    ['::ffff:10.0.0.7', true],
    ['::ffff:192.0.2.7', false],
    ['192.0.2.7', false],
    ['100.64.0.1', false],
    ['2001:db8::1', false],
    ['', false],
    ['not an address', false],
  ];
  for (const [client, allowed] of rows) {
    it(`${client || "'' (unknown)"}: ${allowed ? 'allowed' : 'refused'} by default`, () => {
      expect(acl.allows(client)).to.equal(allowed);
      expect(acl.allows(client), 'memoised').to.equal(allowed);
    });
  }

  const lists: Array<{ text: string; ok: boolean; allows?: string[]; refuses?: string[] }> = [
    { text: '192.0.2.0/24, 2001:db8::/32', ok: true, allows: ['192.0.2.1', '2001:db8::9'], refuses: ['127.0.0.1'] },
    { text: '192.0.2.7', ok: true, allows: ['192.0.2.7'], refuses: ['192.0.2.8'] },
    { text: '0.0.0.0/0,::/0', ok: true, allows: ['203.0.113.1', '2001:db8::1'] },
    { text: '192.0.2.0/33', ok: false },
    { text: 'example.org', ok: false },
  ];
  for (const l of lists) {
    it(`--allow-recursion ${l.text}`, () => {
      const r = parseCidrList(l.text);
      expect(r.ok).to.equal(l.ok);
      if (!r.ok) return;
      const list = new Acl(r.value);
      for (const c of l.allows ?? []) expect(list.allows(c), c).to.equal(true);
      for (const c of l.refuses ?? []) expect(list.allows(c), c).to.equal(false);
    });
  }
});
