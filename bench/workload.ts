/**
 * The benchmark's names, shared by every server: scripts/gen-registry.ts writes the registry
 * svcdns serves, and this module writes the same names as a Knot DNS zone file, a dnsmasq
 * configuration and a dnsperf query file (80% A hits, 10% SRV hits, 10% NXDOMAIN).
 * The naming and addresses follow gen-registry.ts: svc-<i>.ns-<i % namespaces>.svc.cluster.local,
 * ClusterIP 10.96.0.0 + i + 16, one named port `http` (80/TCP), so SRV _http._tcp.<svc> -> 80.
 */
import { writeFile } from 'node:fs/promises';

/** The namespace count gen-registry.ts uses by default. */
export const NAMESPACES = 100;
/** TTL svcdns answers with by default (zones/README.md), used by every server. */
export const TTL = 5;

const SERVICE_BASE = (10 << 24) | (96 << 16);

/** serviceName is the owner name (no trailing dot) of service i. */
export function serviceName(i: number): string {
  return `svc-${i}.ns-${i % NAMESPACES}.svc.cluster.local`;
}

/** clusterIP is the A record of service i. */
export function clusterIP(i: number): string {
  const v = (SERVICE_BASE + i + 16) >>> 0;
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** A small deterministic PRNG (mulberry32), so every run and every server sees the same queries. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** writeQueryFile writes `lines` dnsperf queries over services picked uniformly from 0..services-1. */
export async function writeQueryFile(file: string, services: number, lines = 100_000): Promise<void> {
  const rnd = prng(services);
  const out: string[] = [];
  for (let n = 0; n < lines; n++) {
    const i = Math.floor(rnd() * services);
    const r = n % 10; // exact proportions: 8 A, 1 SRV, 1 NXDOMAIN in every ten queries
    if (r < 8) out.push(`${serviceName(i)} A`);
    else if (r === 8) out.push(`_http._tcp.${serviceName(i)} SRV`);
    else out.push(`nope-${i}.ns-${i % NAMESPACES}.svc.cluster.local A`);
  }
  await writeFile(file, `${out.join('\n')}\n`);
}

/**
 * writeKnotZone writes cluster.local as Knot serves it: the same SOA values svcdns uses, an A per
 * service and its SRV (Knot adds the target's A as additional data, as svcdns does).
 */
export async function writeKnotZone(file: string, services: number): Promise<void> {
  const out = [
    '$ORIGIN cluster.local.',
    `$TTL ${TTL}`,
    `@ SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 ${TTL}`,
    '@ NS ns.dns.cluster.local.',
    'ns.dns A 127.0.0.1',
  ];
  for (let i = 0; i < services; i++) {
    const owner = `svc-${i}.ns-${i % NAMESPACES}.svc`;
    out.push(`${owner} A ${clusterIP(i)}`, `_http._tcp.${owner} SRV 0 100 80 ${owner}`);
  }
  await writeFile(file, `${out.join('\n')}\n`);
}

/** writeKnotConf writes a knotd configuration: one UDP and one TCP worker on 127.0.0.1:port. */
export async function writeKnotConf(file: string, dir: string, zoneFile: string, port: number): Promise<void> {
  await writeFile(
    file,
    [
      'server:',
      `    rundir: "${dir}"`,
      `    listen: 127.0.0.1@${port}`,
      '    udp-workers: 1',
      '    tcp-workers: 1',
      '    background-workers: 1',
      'database:',
      `    storage: "${dir}"`,
      'log:',
      '  - target: stderr',
      '    any: warning',
      'template:',
      '  - id: default',
      `    storage: "${dir}"`,
      '    journal-content: none',
      '    zonefile-sync: -1',
      'zone:',
      '  - domain: cluster.local',
      `    file: "${zoneFile}"`,
      '',
    ].join('\n'),
  );
}

/**
 * writeDnsmasqConf writes a dnsmasq configuration that answers the same names from memory: the A
 * records as an addn-hosts file, the SRV records as srv-host lines, everything else in
 * cluster.local NXDOMAIN (local=), nothing forwarded (no-resolv).
 */
export async function writeDnsmasqConf(file: string, hostsFile: string, services: number, port: number): Promise<void> {
  const hosts: string[] = [];
  const conf = ['no-resolv', 'no-hosts', 'bind-interfaces', 'listen-address=127.0.0.1', `port=${port}`, 'local=/cluster.local/', `local-ttl=${TTL}`, `addn-hosts=${hostsFile}`, 'user=root', 'pid-file='];
  for (let i = 0; i < services; i++) {
    const name = serviceName(i);
    hosts.push(`${clusterIP(i)} ${name}`);
    conf.push(`srv-host=_http._tcp.${name},${name},80,0,100`);
  }
  await writeFile(hostsFile, `${hosts.join('\n')}\n`);
  await writeFile(file, `${conf.join('\n')}\n`);
}
