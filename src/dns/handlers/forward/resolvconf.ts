/** ResolvConf is what svcdns takes from a resolv.conf: upstreams and the search list. */
export interface ResolvConf {
  /** `nameserver` addresses, at most 3 (glibc's MAXNS), in order. */
  nameservers: string[];
  /** The last `search` or `domain` line wins, as in glibc; names without trailing dots. */
  search: string[];
}

/** parseResolvConf reads resolv.conf text (resolv.conf(5)); unknown lines are ignored, as glibc does. */
export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { nameservers: [], search: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [keyword, ...args] = line.split(/\s+/);
    if (keyword === 'nameserver' && args[0] && out.nameservers.length < 3) out.nameservers.push(args[0]);
    else if ((keyword === 'search' || keyword === 'domain') && args.length) {
      out.search = (keyword === 'domain' ? args.slice(0, 1) : args).map((d) => d.replace(/\.$/, '').toLowerCase()).filter((d) => d !== '');
    }
  }
  return out;
}
