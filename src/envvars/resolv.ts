/**
 * A pod's resolv.conf as kubelet builds it (kubernetes pkg/kubelet/network/dns/dns.go, GetPodDNS)
 * and containerd writes it (parseDNSOptions). Pure: the node file arrives already parsed.
 */

/** The pod DNS policies of the Pod API (spec.dnsPolicy; the API server defaults it to ClusterFirst). */
export const DNS_POLICIES = ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'] as const;

/** DnsPolicy is one of DNS_POLICIES. */
export type DnsPolicy = (typeof DNS_POLICIES)[number];

/** PodDNSOption is one entry of spec.dnsConfig.options. */
export interface PodDNSOption {
  name: string;
  value?: string;
}

/** PodDNS is what of a Pod decides its resolv.conf. */
export interface PodDNS {
  namespace: string;
  dnsPolicy?: DnsPolicy;
  hostNetwork?: boolean;
  dnsConfig?: { nameservers?: string[]; searches?: string[]; options?: PodDNSOption[] };
}

/** DNSConfig is a resolv.conf's content: CRI's runtimeapi.DNSConfig. */
export interface DNSConfig {
  nameservers: string[];
  searches: string[];
  /** `name` or `name:value`. */
  options: string[];
}

/** Limits bound what a resolv.conf may hold. */
export interface Limits {
  nameservers: number;
  searchPaths: number;
  searchChars: number;
}

/** EXPANDED_LIMITS: 3 nameservers (glibc MAXNS), 32 search domains and 2048 characters (ExpandedDNSConfig, on since 1.26). */
export const EXPANDED_LIMITS: Limits = { nameservers: 3, searchPaths: 32, searchChars: 2048 };
/** LEGACY_LIMITS: the search limits before ExpandedDNSConfig (6 domains, 256 characters). */
export const LEGACY_LIMITS: Limits = { nameservers: 3, searchPaths: 6, searchChars: 256 };
/** A search domain longer than a DNS-1123 subdomain (253) is dropped: glibc 2.28 aborts on it. */
const MAX_SEARCH_DOMAIN = 253;

/** NodeDNS is the kubelet side: --cluster-dns, --cluster-domain and the parsed --resolv-conf. */
export interface NodeDNS {
  /** Cluster DNS addresses; empty means kubelet has none and cluster mode falls back to Default. */
  clusterDNS: string[];
  /** Cluster domain; empty means no cluster search domains. */
  clusterDomain: string;
  /** The node's resolv.conf, parsed; null is kubelet's --resolv-conf="" (no node file). */
  host: DNSConfig | null;
  limits?: Limits;
}

/** PodResolv is the resolv.conf content and the events kubelet would have recorded. */
export interface PodResolv extends DNSConfig {
  /** kubelet's Warning events (DNSConfigForming, MissingClusterDNS), as text. */
  warnings: string[];
}

const DEFAULT_OPTIONS = ['ndots:5'];

/** omitDuplicates keeps the first of equal strings, in order. */
export function omitDuplicates(list: readonly string[]): string[] {
  return [...new Set(list)];
}

/** dnsType maps a policy to how the base config is made (getPodDNSType). */
export function dnsType(policy: DnsPolicy = 'ClusterFirst', hostNetwork = false): 'cluster' | 'host' | 'none' {
  if (policy === 'None') return 'none';
  if (policy === 'ClusterFirstWithHostNet') return 'cluster';
  // ClusterFirst on the host network falls through to Default: the pod shares the node's network.
  if (policy === 'ClusterFirst' && !hostNetwork) return 'cluster';
  return 'host';
}

/** clusterSearches gives `<ns>.svc.<domain> svc.<domain> <domain>` then the node's, without duplicates. */
export function clusterSearches(namespace: string, domain: string, hostSearch: readonly string[]): string[] {
  if (domain === '') return [...hostSearch];
  return omitDuplicates([`${namespace}.svc.${domain}`, `svc.${domain}`, domain, ...hostSearch]);
}

/** mergeOptions merges options by name; the later one wins, an empty value is written bare. */
export function mergeOptions(base: readonly string[], pod: readonly PodDNSOption[]): string[] {
  // kubelet uses a Go map, so its order is undefined; keeping first-seen order is one valid order.
  const byName = new Map<string, string>();
  for (const o of base) {
    const i = o.indexOf(':');
    if (i < 0) byName.set(o, '');
    else byName.set(o.slice(0, i), o.slice(i + 1));
  }
  for (const o of pod) byName.set(o.name, o.value ?? '');
  return [...byName].map(([name, value]) => (value === '' ? name : `${name}:${value}`));
}

/** fitSearches applies the search limits in kubelet's order (formDNSSearchFitsLimits). */
export function fitSearches(searches: readonly string[], limits: Limits = EXPANDED_LIMITS): { searches: string[]; exceeded: boolean } {
  let out = searches.slice(0, limits.searchPaths);
  let exceeded = out.length < searches.length;
  const kept = out.filter((s) => s.length <= MAX_SEARCH_DOMAIN);
  if (kept.length < out.length) exceeded = true;
  out = kept;
  // Drop whole domains from the end until the joined line fits.
  let length = out.join(' ').length;
  while (out.length && length > limits.searchChars) {
    length -= (out.pop() as string).length + 1;
    exceeded = true;
  }
  return { searches: out, exceeded };
}

/** podResolv computes a pod's resolv.conf content from its DNS fields and the node's settings. */
export function podResolv(pod: PodDNS, node: NodeDNS): PodResolv {
  const warnings: string[] = [];
  const limits = node.limits ?? EXPANDED_LIMITS;
  const host = node.host ?? { nameservers: [], searches: [], options: [] };
  let cfg: DNSConfig = { nameservers: [...host.nameservers], searches: [...host.searches], options: [...host.options] };
  let type = dnsType(pod.dnsPolicy, pod.hostNetwork);
  if (type === 'cluster' && node.clusterDNS.length === 0) {
    warnings.push(`MissingClusterDNS: no cluster DNS IP configured, cannot use the "${pod.dnsPolicy ?? 'ClusterFirst'}" policy; falling back to "Default"`);
    type = 'host';
  }
  if (type === 'none') cfg = { nameservers: [], searches: [], options: [] };
  else if (type === 'cluster') {
    // The cluster DNS is the only nameserver: it forwards what it does not know itself.
    cfg = { nameservers: [...node.clusterDNS], searches: clusterSearches(pod.namespace, node.clusterDomain, cfg.searches), options: [...DEFAULT_OPTIONS] };
  } else if (node.host === null) {
    // kubelet --resolv-conf="": "use the nameserver on the local machine", and no search.
    cfg = { nameservers: ['127.0.0.1'], searches: ['.'], options: cfg.options };
  }
  const dc = pod.dnsConfig;
  if (dc) {
    cfg = {
      nameservers: omitDuplicates([...cfg.nameservers, ...(dc.nameservers ?? [])]),
      searches: omitDuplicates([...cfg.searches, ...(dc.searches ?? [])]),
      options: mergeOptions(cfg.options, dc.options ?? []),
    };
  }
  if (cfg.nameservers.length > limits.nameservers) {
    cfg.nameservers = cfg.nameservers.slice(0, limits.nameservers);
    warnings.push(`DNSConfigForming: Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: ${cfg.nameservers.join(' ')}`);
  }
  const fit = fitSearches(cfg.searches, limits);
  cfg.searches = fit.searches;
  if (fit.exceeded) warnings.push(`DNSConfigForming: Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${cfg.searches.join(' ')}`);
  return { ...cfg, warnings };
}

/**
 * formatResolvConf writes the file as containerd does: `search` if any, one `nameserver` line per
 * server (IPv6 bare: resolv.conf has no brackets and no port), then `options` if any.
 */
export function formatResolvConf(cfg: DNSConfig): string {
  let text = '';
  if (cfg.searches.length) text += `search ${cfg.searches.join(' ')}\n`;
  for (const ns of cfg.nameservers) text += `nameserver ${ns}\n`;
  if (cfg.options.length) text += `options ${cfg.options.join(' ')}\n`;
  return text;
}
