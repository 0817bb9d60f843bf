/**
 * Forwarding loops (svcdns → upstream → svcdns): refused before start. Two checks, as CoreDNS's
 * loop plugin and the systemd-resolved loop of coredns/coredns#2087 suggest: an upstream that is
 * one of our own DNS addresses, and a random probe name sent to every upstream that comes back
 * to us.
 */
import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { label } from '../../names.js';
import { TYPE } from '../../types.js';
import { exchange } from './exchange.js';
import type { Forwarder } from './forwarder.js';
import { randomId } from './message.js';
import type { UpstreamAddress } from './upstream.js';

/** ListenAddress is where svcdns serves DNS. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** localAddresses returns a test for the addresses that reach a socket bound to `host`. */
export function localAddresses(host: string): (ip: string) => boolean {
  const wildcard = host === '0.0.0.0' || host === '::' || host === '';
  if (!wildcard) return (ip) => ip === host || ip === `::ffff:${host}`;
  const own = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) own.add(a.address);
  const v6 = host === '::'; // a dual-stack socket: IPv4 addresses reach it too
  return (ip) => own.has(ip) || ip.startsWith('127.') || (v6 && (ip === '::1' || ip.startsWith('::ffff:')));
}

/** selfLoop names an upstream that is svcdns's own DNS address, or returns undefined. */
export function selfLoop(upstreams: readonly UpstreamAddress[], listen: ListenAddress): UpstreamAddress | undefined {
  const ours = localAddresses(listen.host);
  return upstreams.find((u) => u.port === listen.port && ours(u.host));
}

/** ProbeResult lists upstreams that sent the probe back (loops) and those that did not answer it. */
export interface ProbeResult {
  looped: string[];
  silent: string[];
}

/**
 * probeLoops sends `<random>.<random>.<domain> HINFO` to every upstream, as CoreDNS's loop
 * plugin does, while svcdns listens: if the probe reaches our own handler (forward/index.ts
 * answers it SERVFAIL and records it), that upstream forwards to us. An upstream that does not
 * answer in time is reported as silent: the check could not be made for it.
 */
export async function probeLoops(forwarder: Forwarder, timeoutMs: number): Promise<ProbeResult> {
  const silent: string[] = [];
  const probes: Array<Promise<void>> = [];
  for (const group of forwarder.groups()) {
    for (const up of group.upstreams) {
      const key = label(randomBytes(8).toString('hex')) + label(randomBytes(8).toString('hex')) + group.domainKey;
      if (key.length > 255) continue;
      forwarder.probes.set(key, up.address.label);
      probes.push(probe(up.address, key, timeoutMs).then((answered) => void (answered || silent.push(up.address.label))));
    }
  }
  await Promise.all(probes);
  // A probe may come back through a slower path after the upstream answered from another one.
  await new Promise((r) => setTimeout(r, 50));
  forwarder.probes.clear();
  return { looped: [...forwarder.looped], silent };
}

function probe(up: UpstreamAddress, key: string, timeoutMs: number): Promise<boolean> {
  const name = Buffer.from(key, 'latin1');
  const q = Buffer.alloc(12 + name.length + 4);
  q.writeUInt16BE(randomId(), 0);
  q[2] = 0x01; // RD: the probe must travel the way client queries do
  q.writeUInt16BE(1, 4);
  name.copy(q, 12);
  q.writeUInt16BE(TYPE.HINFO, 12 + name.length);
  q.writeUInt16BE(1, 14 + name.length);
  return new Promise((resolve) => exchange(up, q, timeoutMs, (o) => resolve(o.ok)));
}
