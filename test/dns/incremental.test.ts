/**
 * Incremental snapshots (src/registry/state.ts, src/dns/builder.ts, src/dns/cells.ts) must answer
 * exactly as a full build of the same objects: random batches of changes (Services of every type,
 * EndpointSlices sharing addresses, ExternalNames chasing into changed names, namespaces coming
 * and going) are applied one batch at a time, and after each batch every name of both tables is
 * asked every type and the replies compared byte for byte. An older snapshot, still held, must
 * keep answering as it did when it was built.
 */
import { expect } from 'chai';
import { DnsBuilder } from '../../src/dns/builder.js';
import type { DnsTable } from '../../src/dns/table.js';
import { TYPE } from '../../src/dns/types.js';
import { parseSettings } from '../../src/registry/settings.js';
import { RegistryState } from '../../src/registry/state.js';
import type { KubeObject, StoreEvent, StoredObject } from '../../src/store/types.js';

const ZONE = 'cluster.local';
const { settings } = parseSettings(ZONE, { serviceCIDRs: ['10.96.0.0/24'], podCIDRs: ['10.128.0.0/24'], pods: 'insecure' });
const QTYPES = [TYPE.A, TYPE.AAAA, TYPE.SRV, TYPE.PTR, TYPE.CNAME, TYPE.TXT, TYPE.NS, TYPE.SOA, TYPE.ANY];
const SERIAL = 7;

/** A seeded generator (mulberry32): the same rows every run. */
function random(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

const NAMESPACES = ['ns-a', 'ns-b', 'ns-c'];
const ip = (pool: string, i: number) => `10.${pool}.0.${i + 1}`;

// A random version of one object of a small world (a few names, so changes collide and share).
function randomObject(r: (n: number) => number): { key: string; object: KubeObject | null } {
  const ns = NAMESPACES[r(NAMESPACES.length)]!;
  const svc = `s${r(5)}`;
  switch (r(6)) {
    case 0:
    case 1: {
      const kind = r(4);
      const ports = [{ name: 'http', port: 80 }, ...(r(2) ? [{ name: 'dns', port: 53, protocol: 'UDP' }] : [])];
      const spec =
        kind === 0
          ? { clusterIP: ip('96', r(8)), ports }
          : kind === 1
            ? { clusterIP: 'None', ports }
            : kind === 2
              ? { type: 'ExternalName', externalName: r(2) ? `s${r(5)}.${NAMESPACES[r(3)]}.svc.${ZONE}` : 'example.com' }
              : { clusterIP: 'None', ports: [] };
      return { key: `Service/${ns}/${svc}`, object: r(5) === 0 ? null : { apiVersion: 'v1', kind: 'Service', metadata: { name: svc, namespace: ns }, spec } };
    }
    case 2:
    case 3:
    case 4: {
      const name = `${svc}-${r(2)}`;
      const endpoints = Array.from({ length: r(3) }, () => ({
        addresses: [ip('128', r(6))],
        ...(r(3) === 0 ? { hostname: `h${r(3)}` } : {}),
        conditions: { ready: r(4) !== 0 },
      }));
      const object = { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': svc } }, addressType: 'IPv4', ports: [{ name: 'http', port: 8080 }], endpoints };
      return { key: `EndpointSlice/${ns}/${name}`, object: r(6) === 0 ? null : object };
    }
    default:
      return { key: `Namespace//${ns}`, object: r(2) ? { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } : null };
  }
}

function stored(key: string, object: KubeObject, revision: number): StoredObject {
  const [kind, namespace, name] = key.split('/') as ['Service', string, string];
  return { key: { kind, namespace, name }, zone: ZONE, object, revision, origin: { file: 'test', line: 1 } };
}

// Every name of a table asked every type, rendered: the bytes of an answer, or the negative reply.
function render(table: DnsTable, keys: Iterable<string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const key of keys) {
    for (const qtype of QTYPES) {
      const a = table.answerFor(key, qtype);
      let text: string;
      if (a === undefined) text = 'not ours';
      else if (a.kind === 'negative') text = `negative ${a.rcode}`;
      else {
        const { buf, start, len, ...rest } = a;
        text = `${JSON.stringify({ ...rest, turn: 0 })} ${buf.subarray(start, start + len).toString('hex')}`;
      }
      out.set(`${JSON.stringify(key)} ${qtype}`, text);
    }
  }
  return out;
}

const rows = [
  { desc: 'one change per batch, 300 batches', seed: 1, batches: 300, perBatch: 1 },
  { desc: 'several changes per batch (the same object twice too), 150 batches', seed: 2, batches: 150, perBatch: 4 },
  { desc: 'another world: 300 batches of 1 to 3 changes', seed: 3, batches: 300, perBatch: 3 },
];

describe('incremental snapshots answer exactly as full builds', () => {
  for (const row of rows) {
    it(row.desc, () => {
      const r = random(row.seed);
      const world = new Map<string, StoredObject>();
      let revision = 1;
      for (let i = 0; i < 20; i++) {
        const { key, object } = randomObject(r);
        if (object) world.set(key, stored(key, object, revision++));
      }
      const zones = [{ domain: ZONE, settings }];
      const state = RegistryState.fromObjects(zones, world.values());
      let gen = 1;
      const builder = new DnsBuilder(state.zones, gen);
      // An old snapshot, held all along: it must answer as it did when built.
      const held = builder.table(SERIAL);
      const heldKeys = [...held.keys()];
      const heldAnswers = render(held, heldKeys);
      let checked = 0;
      for (let b = 0; b < row.batches; b++) {
        const events: StoreEvent[] = [];
        for (let n = 1 + r(row.perBatch); n > 0; n--) {
          const { key, object } = randomObject(r);
          const before = world.get(key);
          if (object) {
            const o = stored(key, object, revision++);
            world.set(key, o);
            events.push({ type: before ? 'MODIFIED' : 'ADDED', object: o });
          } else if (before) {
            world.delete(key);
            events.push({ type: 'DELETED', object: before });
          }
        }
        const changes = state.apply(events);
        expect(changes, 'the batch is incremental').to.not.equal(undefined);
        builder.apply(changes!, ++gen);
        const inc = builder.table(SERIAL);
        const full = new DnsBuilder(RegistryState.fromObjects(zones, world.values()).zones, 1).table(SERIAL);
        const keys = new Set([...full.keys(), ...inc.keys()]);
        for (const ns of NAMESPACES) for (const s of ['s0', 's1', 's9']) keys.add(nameKey(`${s}.${ns}.svc.${ZONE}`));
        const want = render(full, keys);
        const got = render(inc, keys);
        for (const [q, a] of want) expect(got.get(q), `batch ${b}: ${q}`).to.equal(a);
        expect(inc.names.size, `batch ${b}: number of names`).to.equal(full.names.size);
        checked += want.size;
      }
      expect(render(held, heldKeys)).to.deep.equal(heldAnswers);
      expect(checked).to.be.greaterThan(1000);
    });
  }
});

function nameKey(name: string): string {
  return `${name.split('.').map((l) => String.fromCharCode(l.length) + l).join('')}\0`;
}
