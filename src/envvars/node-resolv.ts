/**
 * Reading the node's resolv.conf as kubelet does (parseResolvConf in
 * pkg/kubelet/network/dns/dns.go, Kubernetes 1.26 and later). Only three keywords matter to it:
 * `domain`, `sortlist` and the rest are ignored, as they are by kubelet.
 */
import type { DNSConfig } from './resolv.js';

/** kubelet reads at most 10 MiB of the node file (maxResolvConfLength) and fails beyond. */
export const MAX_NODE_RESOLV_BYTES = 10 << 20;

/** NodeResolvProblem is a line kubelet would refuse, which makes it refuse every pod. */
export interface NodeResolvProblem {
  line: number;
  message: string;
}

/**
 * parseNodeResolvConf reads a resolv.conf: `nameserver` lines accumulate (the first address of
 * each); the last `search` line wins, with one trailing dot stripped from each domain except a
 * lone "." (kubernetes#83069, #109441); `options` lines merge, a later option replacing an earlier
 * one of the same name (kubernetes#112414). Lines starting with "#" are comments.
 */
export function parseNodeResolvConf(text: string): { config: DNSConfig; problems: NodeResolvProblem[] } {
  const config: DNSConfig = { nameservers: [], searches: [], options: [] };
  const problems: NodeResolvProblem[] = [];
  const options = new Map<string, string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line.startsWith('#')) return;
    const fields = line.split(/\s+/).filter(Boolean);
    const [key, ...rest] = fields;
    if (key === 'nameserver') {
      if (rest[0] !== undefined) config.nameservers.push(rest[0]);
      else problems.push({ line: i + 1, message: 'nameserver line without an address ("nameserver list is empty", kubelet refuses the file)' });
    } else if (key === 'search') {
      config.searches = rest.map((s) => (s === '.' ? s : s.replace(/\.$/, '')));
    } else if (key === 'options') {
      for (const o of rest) options.set(o.split(':')[0] ?? o, o);
    }
  });
  config.options = [...options.values()];
  return { config, problems };
}
