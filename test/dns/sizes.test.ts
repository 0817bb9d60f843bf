import { expect } from 'chai';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyToName } from '../../src/dns/names.js';
import { createDnsServer, type DnsServer } from '../../src/dns/server.js';
import { decodeMessage, formatRecord, type DecodedMessage } from '../../src/dns/wire.js';
import { silentLogger } from '../../src/log.js';
import type { Registry } from '../../src/registry/registry.js';
import { query } from '../helpers/case.js';
import { FIXTURE_ZONES, loadRegistry } from '../helpers/server.js';

// Big answers on purpose: headless Services whose A, AAAA and SRV answers (with the targets'
// addresses as additional records) straddle 512 and 1232 octets, and a Service with many ports.
function bigZone(): string {
  const docs: string[] = [];
  const headless = (name: string, n: number, family: 'IPv4' | 'IPv6', hostnames: boolean) => {
    docs.push(`apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: big}\nspec:\n  clusterIP: None\n  ports: [{name: http, port: 80}]\n`);
    const eps = Array.from({ length: n }, (_, i) => {
      const ip = family === 'IPv4' ? `10.244.${Math.floor(i / 250)}.${(i % 250) + 1}` : `fd00:10:244::${(i + 1).toString(16)}`;
      return `- {addresses: ["${ip}"]${hostnames ? `, hostname: ${name}-${i}` : ''}, conditions: {ready: true}}`;
    });
    docs.push(`apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: ${name}-1\n  namespace: big\n  labels: {kubernetes.io/service-name: ${name}}\naddressType: ${family}\nports: [{name: http, port: 80}]\nendpoints:\n${eps.join('\n')}\n`);
  };
  for (const n of [1, 5, 20, 29, 30, 31, 70, 75, 76, 200]) headless(`h${n}`, n, 'IPv4', n === 20 || n === 30 || n === 76);
  for (const n of [15, 16, 17, 40, 41]) headless(`v6-${n}`, n, 'IPv6', false);
  const ports = Array.from({ length: 60 }, (_, i) => `{name: port-${i}, port: ${1000 + i}}`).join(', ');
  docs.push(`apiVersion: v1\nkind: Service\nmetadata: {name: many-ports, namespace: big}\nspec:\n  clusterIP: 10.96.9.9\n  ports: [${ports}]\n`);
  return docs.join('---\n');
}

const TYPES = ['A', 'AAAA', 'SRV', 'PTR', 'TXT', 'CNAME', 'ANY', 'SOA', 'NS', 'MX'];
const EDNS: Array<number | undefined> = [undefined, 100, 513, 1000, 1231, 1232, 4096];
// Reverse names only have PTR records: a few types are enough there.
const REVERSE_TYPES = ['PTR', 'A', 'ANY'];

// The query with an OPT record of this UDP size appended (RFC 6891 §6.1.2), or as it is.
function withEdns(q: Buffer, size: number | undefined): Buffer {
  if (size === undefined) return q;
  const out = Buffer.concat([q, Buffer.from([0, 0, 41, size >> 8, size & 0xff, 0, 0, 0, 0, 0, 0])]);
  out.writeUInt16BE(1, 10);
  return out;
}

const sorted = (section: DecodedMessage['answers']) => section.filter((r) => r.type !== 41).map(formatRecord).sort();

describe('sizes: no UDP answer is larger than the query allows, and none is cut short without TC', () => {
  const registries: Array<{ name: string; load: () => Promise<Registry> }> = [
    { name: 'the test fixtures', load: () => loadRegistry(FIXTURE_ZONES) },
    {
      name: 'big answers',
      load: async () => {
        const dir = await mkdtemp(join(tmpdir(), 'svcdns-sizes-'));
        try {
          await mkdir(join(dir, 'cluster.local'));
          await writeFile(join(dir, 'cluster.local', 'big.yaml'), bigZone());
          return await loadRegistry(dir);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
    },
  ];
  for (const reg of registries) {
    describe(reg.name, () => {
      let server: DnsServer;
      let names: string[] = [];
      const base = new Map<string, Buffer>();
      let decoded = 0;
      before(async () => {
        const registry = await reg.load();
        server = createDnsServer({ registry, log: silentLogger() });
        names = [...registry.current!.dns.names.keys()].map(keyToName);
        names.push('nosuch.big.svc.cluster.local.');
        for (const name of names) for (const type of [...TYPES]) base.set(`${type} ${name}`, query(name, type));
      });

      for (const edns of EDNS) {
        const limit = edns === undefined ? 512 : Math.min(Math.max(edns, 512), 1232);
        it(`every name x ${TYPES.length} types, ${edns === undefined ? 'no EDNS' : `EDNS ${edns}`}: at most ${limit} octets; TC=0 means the whole answer`, async () => {
          let truncated = 0;
          for (const name of names) {
            for (const type of name.endsWith('.arpa.') ? REVERSE_TYPES : TYPES) {
              const q = withEdns(base.get(`${type} ${name}`)!, edns);
              const udp = (await server.handle(q, 'udp')) as Buffer;
              const tcp = (await server.handle(q, 'tcp')) as Buffer;
              const what = `${type} ${name}`;
              expect(udp.length, what).to.be.at.most(limit);
              const count = (b: Buffer, at: number) => b.readUInt16BE(at);
              const opt = edns === undefined ? 0 : 1;
              if (udp[2]! & 0x02) {
                truncated++;
                expect(count(udp, 6), `${what}: TC=1 carries no partial answer`).to.equal(0);
                continue;
              }
              // The same records as over TCP (the TCP answer is complete: tested elsewhere)...
              expect([count(udp, 6), count(udp, 8)], `${what}: answer and authority counts`).to.deep.equal([count(tcp, 6), count(tcp, 8)]);
              // ...except the additional section, which alone may be left out without TC (RFC 2181 §9).
              if (count(udp, 10) > opt) expect(count(udp, 10), `${what}: additional count`).to.equal(count(tcp, 10));
              if (++decoded % 7 === 0) {
                // and, for a sample, the same records, decoded by dns2.
                expect(sorted(decodeMessage(udp).answers), `${what}: answer`).to.deep.equal(sorted(decodeMessage(tcp).answers));
              }
            }
          }
          // The sweep must exercise truncation where answers are big.
          if (reg.name === 'big answers' && limit < 1232) expect(truncated).to.be.above(0);
        });
      }

      it('ANY gets at most one RRset (RFC 8482), never larger than the largest single-type answer', async () => {
        for (const name of names) {
          const any = decodeMessage((await server.handle(query(name, 'ANY', { edns: 1232 }), 'tcp')) as Buffer);
          const types = new Set(any.answers.filter((r) => r.type !== 41).map((r) => r.type));
          expect(types.size, `ANY ${name}: ${[...types].join(',')}`).to.be.at.most(1);
          let largest = 0;
          for (const type of TYPES.filter((t) => t !== 'ANY')) {
            largest = Math.max(largest, ((await server.handle(query(name, type, { edns: 1232 }), 'tcp')) as Buffer).length);
          }
          const anyLen = ((await server.handle(query(name, 'ANY', { edns: 1232 }), 'tcp')) as Buffer).length;
          expect(anyLen, `ANY ${name}`).to.be.at.most(largest);
        }
      });
    });
  }
});
