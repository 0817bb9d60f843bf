import { cidrContains, parseCidr, parseIP, type Cidr } from './ip.js';

/**
 * The networks allowed recursion by default: loopback, RFC 1918 (10/8, 172.16/12, 192.168/16),
 * unique local IPv6 (fc00::/7, RFC 4193) and link-local (169.254/16, fe80::/10). Link-local
 * sources cannot come from beyond the local link, so they cannot make svcdns an open resolver;
 * shared address space (100.64.0.0/10, RFC 6598) is left out because an ISP's customers share it.
 */
export const DEFAULT_RECURSION_CIDRS = ['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7', '169.254.0.0/16', 'fe80::/10'];

/** parseCidrList reads "CIDR,CIDR,..." (a bare address is a /32 or /128); it returns the bad item on error. */
export function parseCidrList(text: string): { ok: true; value: Cidr[] } | { ok: false; bad: string } {
  const out: Cidr[] = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (!item) continue;
    const ip = item.includes('/') ? null : parseIP(item);
    const cidr = ip ? parseCidr(`${ip.text}/${ip.bytes.length * 8}`) : parseCidr(item);
    if (!cidr) return { ok: false, bad: item };
    out.push(cidr);
  }
  return { ok: true, value: out };
}

const MAPPED_V4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/**
 * Acl answers "may this client use recursion?" for a client address as the sockets report it
 * ("10.1.2.3", "::1", "::ffff:10.1.2.3" from a dual-stack socket). An unknown address ('') is
 * never allowed. Answers are memoised per address string (bounded), so the check costs one Map
 * lookup per query.
 */
export class Acl {
  private readonly memo = new Map<string, boolean>();
  private lastClient = '';
  private lastAllowed = false;

  constructor(
    readonly cidrs: readonly Cidr[],
    private readonly memoMax = 4096,
  ) {}

  /** allows tells whether the client may receive forwarded (recursive) answers. */
  allows(client: string): boolean {
    if (client === this.lastClient && client !== '') return this.lastAllowed;
    let v = this.memo.get(client);
    if (v === undefined) {
      v = this.check(client);
      if (this.memo.size >= this.memoMax) this.memo.clear();
      this.memo.set(client, v);
    }
    this.lastClient = client;
    this.lastAllowed = v;
    return v;
  }

  private check(client: string): boolean {
    const mapped = MAPPED_V4.exec(client);
    const ip = parseIP(mapped ? mapped[1]! : client.replace(/%.*$/, ''));
    if (!ip) return false;
    return this.cidrs.some((c) => cidrContains(c, ip.bytes));
  }
}
