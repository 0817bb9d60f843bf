/**
 * Generates a registry of N Services, each with one EndpointSlice, for load tests and the
 * benchmark:  npx tsx scripts/gen-registry.ts --services 100000 --out /tmp/zones [--format yaml|json]
 * Writes <out>/cluster.local/services.<format> (and a _settings.yaml with a /12 service CIDR).
 * Names: svc-<i>.ns-<i % namespaces>.svc.cluster.local, ClusterIP 10.96.0.0/12 + i + 16,
 * one ready endpoint per Service in 10.128.0.0/9, port 80 named http.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '1000' },
    namespaces: { type: 'string', default: '100' },
    endpoints: { type: 'string', default: '1' },
    out: { type: 'string', default: './generated-zones' },
    format: { type: 'string', default: 'yaml' },
    domain: { type: 'string', default: 'cluster.local' },
  },
});
const n = Number(values.services);
const namespaces = Number(values.namespaces);
const perService = Number(values.endpoints);
if (!(n > 0 && n <= 1_000_000 && namespaces > 0 && perService > 0) || !['yaml', 'json'].includes(values.format)) {
  console.error('usage: gen-registry.ts --services N (1-1000000) [--namespaces N] [--endpoints N] [--out DIR] [--format yaml|json]');
  process.exit(2);
}

/** ip gives the address `i` places after `base` (an IPv4 address as a 32-bit number). */
function ip(base: number, i: number): string {
  const v = (base + i) >>> 0;
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}
const SERVICE_BASE = (10 << 24) | (96 << 16); // 10.96.0.0
const POD_BASE = (10 << 24) | (128 << 16); // 10.128.0.0

function objects(i: number): object[] {
  const name = `svc-${i}`;
  const namespace = `ns-${i % namespaces}`;
  const clusterIP = ip(SERVICE_BASE, i + 16);
  return [
    { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { type: 'ClusterIP', clusterIP, clusterIPs: [clusterIP], ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] } },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${name}-abcde`, namespace, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: Array.from({ length: perService }, (_, k) => ({
        addresses: [ip(POD_BASE, i * perService + k + 1)],
        conditions: { ready: true },
        targetRef: { kind: 'Pod', name: `${name}-pod-${k}`, namespace },
      })),
    },
  ];
}

// Block-style YAML as kubectl prints it (flow style only for one-item lists of scalars).
function toYaml(v: unknown, indent = ''): string {
  if (Array.isArray(v)) return v.map((item) => `${indent}- ${toYaml(item, `${indent}  `).trimStart()}`).join('');
  if (v && typeof v === 'object') {
    return Object.entries(v)
      .map(([k, val]) => {
        const key = /^[a-zA-Z0-9_./-]+$/.test(k) ? k : JSON.stringify(k);
        if (val && typeof val === 'object') return `${indent}${key}:\n${toYaml(val, Array.isArray(val) ? indent : `${indent}  `)}`;
        return `${indent}${key}: ${typeof val === 'string' ? val : JSON.stringify(val)}\n`;
      })
      .join('');
  }
  return `${String(v)}\n`;
}

const dir = join(values.out, values.domain);
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, '_settings.yaml'), 'serviceCIDRs: [10.96.0.0/12]\npodCIDRs: [10.128.0.0/9]\n');
const file = join(dir, `services.${values.format}`);
if (values.format === 'json') {
  const items: object[] = [];
  for (let i = 0; i < n; i++) items.push(...objects(i));
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
} else {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) for (const o of objects(i)) parts.push(toYaml(o));
  writeFileSync(file, parts.join('---\n'));
}
console.log(`wrote ${n} services with ${n} endpoint slices to ${file}`);
