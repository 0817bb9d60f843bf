import { isIPv6 } from 'node:net';

/** Family of an IP address as Kubernetes names it. */
export type IPFamily = 'IPv4' | 'IPv6';

/** ParsedIP is an address in canonical text form with its bytes. */
export interface ParsedIP {
  family: IPFamily;
  /** Canonical text: dotted quad, or RFC 5952 compressed lower-case IPv6. */
  text: string;
  /** 4 or 16 bytes in network order. */
  bytes: Uint8Array;
}

/** parseIP reads an IPv4 or IPv6 address (no zone index, no brackets); null when it is not one. */
export function parseIP(input: string): ParsedIP | null {
  const v4 = ipv4Bytes(input);
  if (v4) return { family: 'IPv4', text: input, bytes: v4 };
  if (isIPv6(input) && !input.includes('%')) {
    // The WHATWG URL serializer prints IPv6 hosts in RFC 5952 canonical form.
    const text = new URL(`http://[${input}]/`).hostname.slice(1, -1);
    return { family: 'IPv6', text, bytes: ipv6Bytes(text) };
  }
  return null;
}

/**
 * ipv4Bytes reads a dotted quad in canonical form (no leading zeros, as Kubernetes requires), or
 * returns null. Hand-rolled: registries hold hundreds of thousands of addresses.
 */
export function ipv4Bytes(input: string): Uint8Array | null {
  const bytes = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= input.length; i++) {
    const c = i < input.length ? input.charCodeAt(i) : 46; // a final '.' closes the last part
    if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return null; // leading zero
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return null;
    } else if (c === 46 && digits > 0 && part < 4) {
      bytes[part++] = value;
      value = 0;
      digits = 0;
    } else {
      return null;
    }
  }
  return part === 4 ? bytes : null;
}

/** ipv6Bytes expands a canonical (hex-only) IPv6 text into 16 bytes. */
function ipv6Bytes(text: string): Uint8Array {
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    bytes[i * 2] = v >> 8;
    bytes[i * 2 + 1] = v & 0xff;
  });
  return bytes;
}

/** Cidr is a parsed prefix such as 10.96.0.0/12. */
export interface Cidr {
  text: string;
  family: IPFamily;
  bytes: Uint8Array;
  prefix: number;
}

/** parseCidr reads `ADDR/PREFIX`; null when it is not a valid prefix. */
export function parseCidr(input: string): Cidr | null {
  const slash = input.indexOf('/');
  if (slash < 0) return null;
  const ip = parseIP(input.slice(0, slash));
  const bits = input.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(bits)) return null;
  const prefix = Number(bits);
  if (prefix > ip.bytes.length * 8) return null;
  return { text: `${ip.text}/${prefix}`, family: ip.family, bytes: ip.bytes, prefix };
}

/** cidrContains tells whether the first `bits` bits of `bytes` fall inside the prefix (bits >= prefix). */
export function cidrContains(cidr: Cidr, bytes: Uint8Array, bits = bytes.length * 8): boolean {
  if (bytes.length !== cidr.bytes.length || bits < cidr.prefix) return false;
  for (let bit = 0; bit < cidr.prefix; bit += 8) {
    const take = Math.min(8, cidr.prefix - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    const i = bit / 8;
    if (((bytes[i] ?? 0) & mask) !== ((cidr.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** nthAddress returns the address `n` places after the prefix's network address (kubeadm puts DNS at .10). */
export function nthAddress(cidr: Cidr, n: number): string {
  const bytes = Uint8Array.from(cidr.bytes);
  let carry = n;
  for (let i = bytes.length - 1; i >= 0 && carry > 0; i--) {
    const sum = (bytes[i] ?? 0) + (carry & 0xff);
    bytes[i] = sum & 0xff;
    carry = (carry >>> 8) + (sum >> 8);
  }
  return formatIP(bytes);
}

/** formatIP renders 4 or 16 bytes as canonical text. */
export function formatIP(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return parseIP(groups.join(':'))?.text ?? groups.join(':');
}
