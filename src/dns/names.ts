import { parseIP } from '../net/ip.js';

/**
 * Names inside the DNS layer are keys: the lower-cased wire form as a latin1 string
 * ("\x03web\x04shop\x03svc\x07cluster\x05local\x00"). Keys keep label boundaries exact, so a
 * query label "web.shop" never matches two labels, and they are built by concatenation:
 * label('web') + label('shop') + SVC + zoneKey.
 */

/** label encodes one label (1-63 octets, already lower-case) as a key fragment. */
export function label(text: string): string {
  return String.fromCharCode(text.length) + text;
}

/** nameToKey converts an FQDN written in presentation form (labels without dots or escapes) into its key. */
export function nameToKey(fqdn: string): string {
  let key = '';
  for (const l of fqdn.toLowerCase().split('.')) if (l) key += label(l);
  return key + '\0';
}

/** keyToName renders a key as presentation text with RFC 1035 escapes, for logs and tests. */
export function keyToName(key: string): string {
  const labels: string[] = [];
  for (let i = 0; i < key.length - 1; ) {
    const len = key.charCodeAt(i);
    let text = '';
    for (const ch of key.slice(i + 1, i + 1 + len)) {
      const c = ch.charCodeAt(0);
      if (ch === '.' || ch === '\\') text += `\\${ch}`;
      else if (c <= 0x20 || c >= 0x7f) text += `\\${String(c).padStart(3, '0')}`;
      else text += ch;
    }
    labels.push(text);
    i += 1 + len;
  }
  return labels.length ? `${labels.join('.')}.` : '.';
}

/** parentKey drops the first label of a key; the root key "\0" has no parent. */
export function parentKey(key: string): string | undefined {
  return key.length <= 1 ? undefined : key.slice(key.charCodeAt(0) + 1);
}

/** firstLabel gives the first label of a key as text. */
export function firstLabel(key: string): string {
  return key.slice(1, 1 + key.charCodeAt(0));
}

/** dashedIP names an endpoint without hostname as CoreDNS does: 10-244-1-5, fd00-10-244-1--33. */
export function dashedIP(ip: string): string {
  return ip.replace(/[.:]/g, '-');
}

const IN_ADDR = '\x07in-addr\x04arpa\0';
const IP6 = '\x03ip6\x04arpa\0';

/** reverseKey gives the key of an address's PTR owner: d.c.b.a.in-addr.arpa. or 32 nibbles under ip6.arpa. */
export function reverseKey(ip: string): string {
  if (!ip.includes(':')) {
    const o = ip.split('.');
    if (o.length === 4) return label(o[3]!) + label(o[2]!) + label(o[1]!) + label(o[0]!) + IN_ADDR;
  }
  const parsed = parseIP(ip);
  if (!parsed) throw new Error(`not an IP address: ${ip}`);
  if (parsed.family === 'IPv4') return [...parsed.bytes].reverse().map((b) => label(String(b))).join('') + IN_ADDR;
  let key = '';
  for (let i = 15; i >= 0; i--) {
    const b = parsed.bytes[i]!;
    key += `\x01${(b & 15).toString(16)}\x01${(b >> 4).toString(16)}`;
  }
  return key + IP6;
}

/** reverseName is reverseKey in presentation form. */
export function reverseName(ip: string): string {
  return keyToName(reverseKey(ip));
}

/** dashedToIP reads a pod name label (1-2-3-4, fd00-10--5) back into an address, or null. */
export function dashedToIP(text: string): string | null {
  const ip = parseIP(text.replace(/-/g, '.')) ?? (text.includes('--') || text.split('-').length === 8 ? parseIP(text.replace(/-/g, ':')) : null);
  return ip ? ip.text : null;
}
