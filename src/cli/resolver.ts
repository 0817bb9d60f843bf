/**
 * The resolver side of `svcdns serve` (issue 5): flags, their validation, and the handler chain
 * [autopath?, cache?, cluster, forward?] with the loop check that runs once the DNS port is open.
 */
import { readFileSync } from 'node:fs';
import { autopathHandler, AutopathStats } from '../dns/handlers/autopath/index.js';
import { CacheStats, cacheHandler } from '../dns/handlers/cache/index.js';
import { clusterHandler } from '../dns/handlers/cluster/index.js';
import { Forwarder, forwardHandler, type ForwardStats } from '../dns/handlers/forward/index.js';
import { probeLoops, selfLoop, type ListenAddress } from '../dns/handlers/forward/loop.js';
import { parseResolvConf } from '../dns/handlers/forward/resolvconf.js';
import { parseUpstream, upstreamAddress, type UpstreamAddress } from '../dns/handlers/forward/upstream.js';
import type { Handler } from '../dns/handler.js';
import { nameToKey } from '../dns/names.js';
import { SvcdnsError } from '../errors.js';
import type { Logger } from '../log.js';
import { Acl, DEFAULT_RECURSION_CIDRS, parseCidrList } from '../net/acl.js';
import type { Cidr } from '../net/ip.js';
import type { Registry } from '../registry/registry.js';
import type { Flags, FlagValues } from './args.js';

/** Flags of the resolver: forwarding, cache, recursion ACL and autopath. */
export const RESOLVER_FLAGS = {
  upstream: { type: 'string', multiple: true, arg: 'HOST[:PORT]', help: 'resolver for names outside the zones, repeatable; "none" forwards nothing (default: the nameservers of --resolv-conf)' },
  'resolv-conf': { type: 'string', arg: 'FILE', default: '/etc/resolv.conf', help: 'file with the default upstreams and the node search domains (for --autopath)' },
  forward: { type: 'string', multiple: true, arg: 'DOMAIN=HOST[:PORT]', help: 'stub domain: send DOMAIN and the names below it to HOST; repeat for more servers or domains' },
  'allow-recursion': { type: 'string', arg: 'CIDR,...', help: `clients served forwarded answers; others get REFUSED (default ${DEFAULT_RECURSION_CIDRS.join(',')})` },
  'forward-timeout': { type: 'string', arg: 'MS', default: '2000', help: 'answer SERVFAIL when no upstream has answered after this long' },
  'max-concurrent': { type: 'string', arg: 'N', default: '1000', help: 'upstream queries under way at once; more get REFUSED' },
  'cache-size': { type: 'string', arg: 'N', default: '10000', help: 'forwarded answers kept (one per started 4 KiB); 0 turns the cache off' },
  'cache-min-ttl': { type: 'string', arg: 'SECONDS', default: '0', help: 'keep cached answers at least this long' },
  'cache-max-ttl': { type: 'string', arg: 'SECONDS', default: '3600', help: 'keep cached answers (positive and negative) at most this long' },
  autopath: { type: 'boolean', default: false, help: "walk pods' search lists on the server (CoreDNS autopath); README lists when it applies" },
} satisfies Flags;

/** ResolverConfig is the resolver part of `serve`'s configuration. */
export interface ResolverConfig {
  /** Upstreams for all outside names; empty with `--upstream none`. */
  upstreams: UpstreamAddress[];
  /** Where the upstreams came from: "--upstream" or the resolv.conf path. */
  upstreamSource: string;
  stubs: Array<{ domain: string; domainKey: string; servers: UpstreamAddress[] }>;
  allowRecursion: Cidr[];
  timeoutMs: number;
  maxConcurrent: number;
  cache: { size: number; minTtl: number; maxTtl: number };
  autopath: boolean;
  /** The node's search domains as keys (resolv.conf `search`), for autopath. */
  hostSearch: string[];
  /** Things worth a log line at start (e.g. no resolv.conf for autopath's search domains). */
  warnings: string[];
}

/** resolverConfig validates the resolver flags; it throws ERR_CONFIG naming the flag. */
export function resolverConfig(values: FlagValues<typeof RESOLVER_FLAGS>): ResolverConfig {
  const warnings: string[] = [];
  const resolvPath = values['resolv-conf'];
  let resolv: ReturnType<typeof parseResolvConf> | undefined;
  let resolvError = '';
  try {
    resolv = parseResolvConf(readFileSync(resolvPath, 'utf8'));
  } catch (err) {
    resolvError = (err as Error).message;
  }

  let upstreams: UpstreamAddress[] = [];
  let upstreamSource = '--upstream';
  const given = values.upstream;
  if (given.length === 1 && given[0] === 'none') {
    upstreams = [];
  } else if (given.length) {
    upstreams = given.map((u) => {
      const a = u === 'none' ? null : parseUpstream(u);
      if (!a) throw new SvcdnsError('ERR_CONFIG', `--upstream ${u}: expected an IP address with an optional port (192.0.2.1, 192.0.2.1:5353, [2001:db8::1]:53), or "none" alone`);
      return a;
    });
  } else {
    if (!resolv) throw new SvcdnsError('ERR_CONFIG', `--resolv-conf ${resolvPath}: ${resolvError}. Pass --upstream HOST[:PORT], or --upstream none to forward nothing`);
    upstreams = resolv.nameservers.map((ns) => {
      const a = upstreamAddress(ns);
      if (!a) throw new SvcdnsError('ERR_CONFIG', `--resolv-conf ${resolvPath}: nameserver ${ns} is not an IP address`);
      return a;
    });
    if (!upstreams.length) throw new SvcdnsError('ERR_CONFIG', `--resolv-conf ${resolvPath} lists no nameserver. Pass --upstream HOST[:PORT], or --upstream none to forward nothing`);
    upstreamSource = resolvPath;
  }

  const stubs = new Map<string, { domain: string; domainKey: string; servers: UpstreamAddress[] }>();
  for (const f of values.forward) {
    const m = /^([^=\s]+)=(.+)$/.exec(f.trim());
    const domain = m?.[1]?.replace(/\.$/, '').toLowerCase() ?? '';
    const server = m ? parseUpstream(m[2]!) : null;
    if (!m || !server || !isDomain(domain)) throw new SvcdnsError('ERR_CONFIG', `--forward ${f}: expected DOMAIN=HOST[:PORT], e.g. corp.example.org=192.0.2.53`);
    const domainKey = nameToKey(domain);
    const s = stubs.get(domainKey) ?? { domain, domainKey, servers: [] };
    if (!s.servers.some((x) => x.label === server.label)) s.servers.push(server);
    stubs.set(domainKey, s);
  }

  let allowRecursion: Cidr[];
  const acl = parseCidrList(values['allow-recursion'] ?? DEFAULT_RECURSION_CIDRS.join(','));
  if (!acl.ok) throw new SvcdnsError('ERR_CONFIG', `--allow-recursion: ${acl.bad} is not an address or CIDR (e.g. 10.0.0.0/8,2001:db8::/32)`);
  else allowRecursion = acl.value;

  const int = (flag: keyof typeof values, min: number, max: number): number => {
    const raw = String(values[flag]);
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) throw new SvcdnsError('ERR_CONFIG', `--${flag} ${raw}: expected a whole number from ${min} to ${max}`);
    return n;
  };
  const cache = { size: int('cache-size', 0, 10_000_000), minTtl: int('cache-min-ttl', 0, 86_400), maxTtl: int('cache-max-ttl', 0, 604_800) };
  if (cache.minTtl > cache.maxTtl) throw new SvcdnsError('ERR_CONFIG', `--cache-min-ttl ${cache.minTtl} is above --cache-max-ttl ${cache.maxTtl}`);

  let hostSearch: string[] = [];
  if (values.autopath) {
    if (resolv) hostSearch = resolv.search.filter(isDomain).map(nameToKey);
    else warnings.push(`--autopath: cannot read --resolv-conf ${resolvPath} (${resolvError}); walking the cluster search domains only`);
  }
  return {
    upstreams,
    upstreamSource,
    stubs: [...stubs.values()],
    allowRecursion,
    timeoutMs: int('forward-timeout', 100, 60_000),
    maxConcurrent: int('max-concurrent', 1, 1_000_000),
    cache,
    autopath: values.autopath,
    hostSearch,
    warnings,
  };
}

function isDomain(d: string): boolean {
  return d.length > 0 && d.length <= 253 && d.split('.').every((l) => /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/.test(l));
}

/** Resolver is the handler chain for `serve`, with its counters and the loop check. */
export interface Resolver {
  handlers: Handler[];
  recursionAvailable: boolean | ((client: string) => boolean);
  stats: { cache?: CacheStats; forward?: ForwardStats; autopath?: AutopathStats };
  /** checkLoops refuses (ERR_UPSTREAM_LOOP) an upstream that is us or forwards to us; run it once listening. */
  checkLoops(listen: ListenAddress): Promise<void>;
  close(): void;
}

/** buildResolver makes the chain in its one order: autopath, cache, cluster, forward. */
export function buildResolver(config: ResolverConfig, registry: Registry, log: Logger): Resolver {
  const rlog = log.child({ module: 'resolver' });
  for (const w of config.warnings) rlog.warn(w);
  const acl = new Acl(config.allowRecursion);
  const forwarding = config.upstreams.length > 0 || config.stubs.length > 0;
  const stats: Resolver['stats'] = {};
  const handlers: Handler[] = [];
  let forwarder: Forwarder | undefined;
  if (config.autopath) {
    stats.autopath = new AutopathStats();
    handlers.push(autopathHandler({ registry, hostSearch: config.hostSearch, stats: stats.autopath }));
  }
  if (forwarding && config.cache.size > 0) {
    stats.cache = new CacheStats();
    handlers.push(cacheHandler({ ...config.cache, acl, registry, stats: stats.cache }));
  }
  handlers.push(clusterHandler({ registry }));
  if (forwarding) {
    forwarder = new Forwarder({ upstreams: config.upstreams, stubs: config.stubs, timeoutMs: config.timeoutMs, maxConcurrent: config.maxConcurrent, log });
    stats.forward = forwarder.stats;
    handlers.push(forwardHandler({ forwarder, acl }));
  }
  return {
    handlers,
    recursionAvailable: forwarding ? (client) => acl.allows(client) : false,
    stats,
    async checkLoops(listen) {
      if (!forwarder) {
        rlog.info('forwarding is off (--upstream none): names outside the zones get REFUSED');
        return;
      }
      const all = forwarder.groups().flatMap((g) => g.upstreams.map((u) => u.address));
      const self = selfLoop(all, listen);
      if (self) throw loopError(`upstream ${self.label} is svcdns's own DNS address`);
      const probe = await probeLoops(forwarder, config.timeoutMs);
      if (probe.looped.length) throw loopError(`upstream ${probe.looped.join(', ')} sent svcdns's loop probe back to svcdns: it forwards to svcdns`);
      for (const s of probe.silent) rlog.warn({ upstream: s }, 'upstream did not answer the loop probe; the loop check could not be made for it');
      rlog.info(
        {
          upstreams: config.upstreams.map((u) => u.label),
          from: config.upstreamSource,
          stubs: config.stubs.map((s) => `${s.domain}=${s.servers.map((x) => x.label).join(',')}`),
          cache: config.cache.size,
          autopath: config.autopath,
        },
        'forwarding names outside the zones',
      );
    },
    close() {
      forwarder?.close();
    },
  };
}

function loopError(what: string): SvcdnsError {
  return new SvcdnsError(
    'ERR_UPSTREAM_LOOP',
    `refusing to start: forwarding loop: ${what}. Point --upstream (or --resolv-conf) at a resolver that does not send queries back to svcdns, or pass --upstream none`,
  );
}
