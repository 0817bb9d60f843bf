import { cidrContains, formatIP, parseIP, type Cidr, type IPFamily } from '../net/ip.js';
import { fail, ok, type Result } from '../result.js';
import type { ObjectCache } from '../store/cache.js';
import type { StoreEvent, StoredObject } from '../store/types.js';
import { isRecord, str } from './json.js';

// The allocator's error texts, word for word from kubernetes pkg/registry/core/service
// (ipallocator and portallocator): kubectl users and scripts match on them.
/** IP_ALLOCATED is ipallocator.ErrAllocated. */
export const IP_ALLOCATED = 'provided IP is already allocated';
/** PORT_ALLOCATED is portallocator.ErrAllocated. */
export const PORT_ALLOCATED = 'provided port is already allocated';
/** RANGE_FULL is ErrFull of both allocators. */
export const RANGE_FULL = 'range is full';

/** ipNotInRange is ipallocator.ErrNotInRange. */
export const ipNotInRange = (ip: string, range: string) => `the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${range}`;
/** portNotInRange is portallocator.ErrNotInRange. */
export const portNotInRange = (range: readonly [number, number]) => `provided port is not in the valid range. The range of valid ports is ${range[0]}-${range[1]}`;

/** The dynamic search window is capped: an IPv6 /64 is 2^64 addresses; Kubernetes caps its bitmap too. */
const MAX_WINDOW = 1 << 20;

function toBig(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

function fromBig(n: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/**
 * usableRange gives the offsets (from the network address) an allocator may hand out: not the
 * network address, and for IPv4 not the broadcast address either (ipallocator.NewAllocatorCIDRRange).
 */
function usableRange(cidr: Cidr): { base: bigint; first: bigint; last: bigint } {
  const bits = BigInt(cidr.bytes.length * 8 - cidr.prefix);
  const size = 1n << bits;
  const mask = ((1n << BigInt(cidr.bytes.length * 8)) - 1n) ^ (size - 1n);
  const base = toBig(cidr.bytes) & mask;
  const last = cidr.family === 'IPv4' ? size - 2n : size - 1n;
  return { base, first: 1n, last };
}

/**
 * staticBand is how many addresses at the start of the range dynamic allocation leaves for
 * addresses people pick by hand: min(max(16, size/16), 256) (KEP-3070; ports: KEP-3668 uses
 * min(max(16, size/32), 128)). Dynamic allocation takes from above the band first.
 */
function staticBand(size: number, step: number, max: number): number {
  if (size <= 16) return 0;
  return Math.min(Math.max(16, Math.floor(size / step)), max);
}

/** checkIP says why a requested cluster IP cannot be had, or ok. */
export function checkIP(ip: string, cidrs: readonly Cidr[], taken: (ip: string) => boolean): Result<string, string> {
  const parsed = parseIP(ip);
  if (!parsed) return fail(`${ip} is not an IP address`);
  const family = cidrs.filter((c) => c.family === parsed.family);
  const inside = family.find((c) => {
    if (!cidrContains(c, parsed.bytes)) return false;
    const { base, first, last } = usableRange(c);
    const off = toBig(parsed.bytes) - base;
    return off >= first && off <= last;
  });
  if (!inside) return fail(ipNotInRange(parsed.text, family.map((c) => c.text).join(',') || '(none)'));
  if (taken(parsed.text)) return fail(IP_ALLOCATED);
  return ok(parsed.text);
}

/**
 * allocateIP picks a free address of the CIDR at random, above the static band first, as the
 * Kubernetes allocator does; `reserved` addresses (the zone's DNS service IP) are never handed
 * out. null when the range is full.
 */
export function allocateIP(cidr: Cidr, taken: (ip: string) => boolean, random: () => number, reserved: ReadonlySet<string> = new Set()): string | null {
  const { base, first, last } = usableRange(cidr);
  const count = Number(last - first + 1n > BigInt(MAX_WINDOW) ? BigInt(MAX_WINDOW) : last - first + 1n);
  if (count <= 0) return null;
  const band = staticBand(count, 16, 256);
  const pick = (lo: number, hi: number): string | null => {
    const n = hi - lo;
    if (n <= 0) return null;
    const start = Math.floor(random() * n);
    for (let i = 0; i < n; i++) {
      const off = lo + ((start + i) % n);
      const ip = formatIP(fromBig(base + first + BigInt(off), cidr.bytes.length));
      if (!taken(ip) && !reserved.has(ip)) return ip;
    }
    return null;
  };
  return pick(band, count) ?? pick(0, band);
}

/** checkPort says why a requested nodePort cannot be had, or undefined. */
export function checkPort(port: number, range: readonly [number, number], taken: (port: number) => boolean): string | undefined {
  if (port < range[0] || port > range[1]) return portNotInRange(range);
  if (taken(port)) return PORT_ALLOCATED;
  return undefined;
}

/** allocatePort picks a free port of the range at random, above the static band first; null when full. */
export function allocatePort(range: readonly [number, number], taken: (port: number) => boolean, random: () => number): number | null {
  const size = range[1] - range[0] + 1;
  const band = staticBand(size, 32, 128);
  const pick = (lo: number, hi: number): number | null => {
    const n = hi - lo;
    if (n <= 0) return null;
    const start = Math.floor(random() * n);
    for (let i = 0; i < n; i++) {
      const port = range[0] + lo + ((start + i) % n);
      if (!taken(port)) return port;
    }
    return null;
  };
  return pick(band, size) ?? pick(0, band);
}

/** Allocations are the cluster IPs and node ports one Service holds. */
export interface Allocations {
  ips: string[];
  ports: number[];
}

/** allocationsOf reads what a Service object holds: its cluster IPs, node ports and health check node port. */
export function allocationsOf(object: unknown): Allocations {
  const spec = isRecord(object) && isRecord(object.spec) ? object.spec : {};
  if (spec.type === 'ExternalName') return { ips: [], ports: [] };
  const ips = new Set<string>();
  const listed = Array.isArray(spec.clusterIPs) ? spec.clusterIPs : [];
  for (const v of [str(spec.clusterIP), ...listed]) {
    const ip = typeof v === 'string' ? parseIP(v) : null;
    if (ip) ips.add(ip.text);
  }
  const ports = new Set<number>();
  for (const p of Array.isArray(spec.ports) ? spec.ports : []) {
    if (isRecord(p) && typeof p.nodePort === 'number' && p.nodePort > 0) ports.add(p.nodePort);
  }
  if (typeof spec.healthCheckNodePort === 'number' && spec.healthCheckNodePort > 0) ports.add(spec.healthCheckNodePort);
  return { ips: [...ips], ports: [...ports] };
}

/**
 * AllocationIndex knows which cluster IPs and node ports the Services of one zone hold, files
 * included. It follows the store's cache (each change updates only the Service it names), so
 * checking an address is a Map lookup even with 100,000 Services.
 */
export class AllocationIndex {
  private readonly held = new Map<string, Allocations>();
  private readonly ipOwners = new Map<string, Set<string>>();
  private readonly portOwners = new Map<number, Set<string>>();

  constructor(
    private readonly cache: ObjectCache,
    private readonly zone: string,
  ) {
    this.rebuild();
    cache.onChange((events) => (events.length ? this.apply(events) : this.rebuild()));
  }

  /** ipTaken tells whether a Service other than `except` (namespace/name) holds the address. */
  ipTaken(ip: string, except?: string): boolean {
    return taken(this.ipOwners.get(ip), except);
  }

  /** portTaken tells whether a Service other than `except` holds the node port. */
  portTaken(port: number, except?: string): boolean {
    return taken(this.portOwners.get(port), except);
  }

  /** families lists the IP families the zone's service CIDRs cover. */
  static families(cidrs: readonly Cidr[]): IPFamily[] {
    return [...new Set(cidrs.map((c) => c.family))];
  }

  private rebuild(): void {
    this.held.clear();
    this.ipOwners.clear();
    this.portOwners.clear();
    for (const o of this.cache.list('Service', undefined, this.zone)) this.set(o);
  }

  private apply(events: readonly StoreEvent[]): void {
    for (const e of events) {
      if (e.object.key.kind !== 'Service' || e.object.zone !== this.zone) continue;
      this.drop(ownerOf(e.object));
      if (e.type !== 'DELETED') this.set(e.object);
    }
  }

  private set(o: StoredObject): void {
    const owner = ownerOf(o);
    const a = allocationsOf(o.object);
    this.held.set(owner, a);
    for (const ip of a.ips) add(this.ipOwners, ip, owner);
    for (const p of a.ports) add(this.portOwners, p, owner);
  }

  private drop(owner: string): void {
    const a = this.held.get(owner);
    if (!a) return;
    this.held.delete(owner);
    for (const ip of a.ips) remove(this.ipOwners, ip, owner);
    for (const p of a.ports) remove(this.portOwners, p, owner);
  }
}

const ownerOf = (o: StoredObject) => `${o.key.namespace}/${o.key.name}`;

function taken(owners: Set<string> | undefined, except?: string): boolean {
  if (!owners) return false;
  return owners.size > (except !== undefined && owners.has(except) ? 1 : 0);
}

function add<K>(m: Map<K, Set<string>>, k: K, owner: string): void {
  const s = m.get(k);
  if (s) s.add(owner);
  else m.set(k, new Set([owner]));
}

function remove<K>(m: Map<K, Set<string>>, k: K, owner: string): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(owner);
  if (s.size === 0) m.delete(k);
}
