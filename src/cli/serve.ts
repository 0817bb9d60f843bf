import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { parseTokenFile, type AuthConfig } from '../api/auth.js';
import { apiRoutes } from '../api/routes.js';
import { loadOrCreateTls } from '../api/tls.js';
import { createDnsServer, type DnsServer } from '../dns/server.js';
import { envRoutes } from '../envvars/routes.js';
import { SvcdnsError } from '../errors.js';
import { healthRoutes } from '../http/health.js';
import { createHttpServer, type HttpServer, type Route } from '../http/server.js';
import { createLogger, type Logger } from '../log.js';
import { dnsMetrics } from '../ops/dns-metrics.js';
import { DnsStats } from '../ops/dns-stats.js';
import { createMetricsRegistry, metricsRoutes, type MetricsRegistry } from '../ops/metrics.js';
import { queryObserver } from '../ops/observe.js';
import { Readiness } from '../ops/readiness.js';
import { registryMetrics, type RegistryMetrics } from '../ops/registry-metrics.js';
import { resolverMetrics } from '../ops/resolver-metrics.js';
import { etcdMetrics } from '../ops/store-metrics.js';
import { gracefulShutdown } from '../ops/shutdown.js';
import { Registry } from '../registry/registry.js';
import { followStore } from '../registry/runtime.js';
import { formatProblem } from '../result.js';
import { openEtcdRegistry } from '../store/etcd/open.js';
import { EtcdStore } from '../store/etcd/store.js';
import { FileStore } from '../store/files/store.js';
import type { ObjectStore } from '../store/types.js';
import { helpText, parseFlags, parseHostPort, type Flags } from './args.js';
import { buildResolver, RESOLVER_FLAGS, resolverConfig, type Resolver, type ResolverConfig } from './resolver.js';
import { DEFAULT_ETCD_PREFIX, etcdTarget } from './etcd-flags.js';
import { parseCount, parseDuration } from './duration.js';
import { dnsOnlyRegistry, linkWorker, runPrimary, workerRole, type WorkerLink, type WorkerRole } from './workers.js';

/** Flags of `svcdns serve`; feature modules add their groups here. */
export const SERVE_FLAGS = {
  zones: { type: 'string', arg: 'DIR', default: './zones', help: 'registry folder: one sub-folder per cluster domain' },
  dns: { type: 'string', arg: 'HOST:PORT', default: '127.0.0.1:1053', help: 'DNS address, UDP and TCP (5353 is mDNS: avoid it)' },
  http: { type: 'string', arg: 'HOST:PORT', default: '127.0.0.1:8080', help: 'HTTP address: /health, /ready and the other HTTP endpoints' },
  'skip-invalid': { type: 'boolean', default: false, help: 'serve the valid objects when some are invalid, instead of refusing to start' },
  etcd: { type: 'string', arg: 'URL[,URL...]', help: 'keep the registry in etcd, shared by every replica, instead of --zones' },
  'etcd-prefix': { type: 'string', arg: 'PREFIX', default: DEFAULT_ETCD_PREFIX, help: 'etcd key prefix of the registry' },
  'log-level': { type: 'string', arg: 'LEVEL', default: 'info', help: 'fatal, error, warn, info, debug, trace or silent' },
  ...RESOLVER_FLAGS,
  'api-zone': { type: 'string', arg: 'DOMAIN', help: 'zone the Kubernetes-style API reads and writes (default: cluster.local if served, else the first zone)' },
  'token-file': { type: 'string', arg: 'FILE', help: 'bearer tokens for the API, one per line: writes need one, as do reads from other machines' },
  'tls-cert-file': { type: 'string', arg: 'FILE', help: 'serve HTTPS with this PEM certificate (kubectl sends tokens only over https); with --tls-key-file; both are created, self-signed, when neither exists' },
  'tls-key-file': { type: 'string', arg: 'FILE', help: 'the private key of --tls-cert-file (PEM)' },
  'insecure-allow-writes': { type: 'boolean', default: false, help: 'let anyone write through the API (and read from anywhere) without a token' },
  'log-queries': { type: 'boolean', default: false, help: 'log every query (client, name, type, rcode, size, duration) at info level' },
  lameduck: { type: 'string', arg: 'DURATION', default: '5s', help: 'on SIGTERM/SIGINT, keep answering this long with /ready at 503, then stop (0: stop at once)' },
  'rate-limit': { type: 'string', arg: 'QPS', default: '0', help: 'UDP responses per second per client address; over it, drop (0: no limit)' },
  'rate-limit-slip': { type: 'string', arg: 'N', default: '2', help: 'with --rate-limit, answer every Nth limited query with TC=1 so real clients retry over TCP (0: drop all)' },
  'tcp-max-connections': { type: 'string', arg: 'N', default: '1000', help: 'TCP connections kept at once; more are closed' },
  'tcp-idle-timeout': { type: 'string', arg: 'DURATION', default: '10s', help: 'close TCP connections idle this long' },
  workers: { type: 'string', arg: 'N', default: '1', help: 'DNS processes sharing the sockets (node:cluster), each with its own copy of the registry; HTTP runs in the first one' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
} satisfies Flags;

/** ServeConfig is everything `serve` needs, resolved from flags and environment. */
export interface ServeConfig {
  zonesDir: string;
  dns: { host: string; port: number };
  http: { host: string; port: number };
  skipInvalid: boolean;
  /** Forwarding, cache, recursion ACL and autopath; absent: no forwarding (outside names REFUSED). */
  resolver?: ResolverConfig;
  /** The API's zone; undefined: cluster.local if served, else the first zone. */
  apiZone?: string;
  /** The API's authorization: tokens (from --token-file) and --insecure-allow-writes. */
  auth: AuthConfig;
  /** HTTPS: certificate and key files (created self-signed when neither exists). */
  tls?: { certFile: string; keyFile: string };
  /** With --etcd: the registry is in etcd (zones/ is not read). */
  etcd?: { urls: string[]; prefix: string };
  /** Log every query (--log-queries). */
  logQueries: boolean;
  /** Lameduck after SIGTERM, in ms (--lameduck). */
  lameduckMs: number;
  /** Per-client UDP response rate limit (--rate-limit, --rate-limit-slip); qps 0 is off. */
  rateLimit: { qps: number; slip: number };
  /** TCP connection cap and idle timeout (--tcp-max-connections, --tcp-idle-timeout). */
  tcp: { maxConnections: number; idleTimeoutMs: number };
  /** DNS processes (--workers); above 1, this process is the primary or one of them (`role`). */
  workers: number;
  /** Set in a worker of --workers N: its index (0 runs HTTP) and the count. */
  role?: WorkerRole;
}

/** Running is a started server. */
export interface Running {
  registry: Registry;
  store: ObjectStore;
  dns: DnsServer;
  /** The shared metrics registry: modules register their own metrics here. */
  metrics: MetricsRegistry;
  /** What /ready checks: modules add theirs (a store "synced"). */
  readiness: Readiness;
  /** For reloaders: count a refused reload. */
  registryMetrics: RegistryMetrics;
  /** shutdown runs the lameduck, then closes (see ops/shutdown.ts). */
  shutdown(cut?: Promise<unknown>): Promise<void>;
  addresses: { udp: AddressInfo; tcp: AddressInfo; http: AddressInfo };
  /** The resolver's counters (cache, forward, autopath), for metrics. */
  stats: Resolver['stats'];
  /** With --workers N: the link to the primary (announce serving, hear "stop"). */
  link?: WorkerLink;
  close(): Promise<void>;
}

/** serveConfig resolves parsed flags into a ServeConfig. */
export function serveConfig(values: ReturnType<typeof parseFlags<typeof SERVE_FLAGS>>['values']): ServeConfig {
  return {
    zonesDir: values.zones,
    dns: parseHostPort('dns', values.dns),
    http: parseHostPort('http', values.http),
    skipInvalid: values['skip-invalid'],
    resolver: resolverConfig(values),
    ...(values['api-zone'] ? { apiZone: values['api-zone'].toLowerCase().replace(/\.$/, '') } : {}),
    auth: { tokens: values['token-file'] ? readTokens(values['token-file']) : [], insecureAllowWrites: values['insecure-allow-writes'] },
    ...tlsFlags(values['tls-cert-file'], values['tls-key-file']),
    ...(values.etcd !== undefined ? { etcd: etcdTarget(values.etcd, values['etcd-prefix']) } : {}),
    logQueries: values['log-queries'],
    lameduckMs: parseDuration('lameduck', values.lameduck, { max: 600_000 }),
    rateLimit: { qps: parseCount('rate-limit', values['rate-limit']), slip: parseCount('rate-limit-slip', values['rate-limit-slip'], { max: 10 }) },
    tcp: {
      maxConnections: parseCount('tcp-max-connections', values['tcp-max-connections'], { min: 1, max: 1_000_000 }),
      idleTimeoutMs: parseDuration('tcp-idle-timeout', values['tcp-idle-timeout'], { max: 3_600_000 }),
    },
    workers: parseCount('workers', values.workers, { min: 1, max: 64 }),
  };
}

function tlsFlags(certFile: string | undefined, keyFile: string | undefined): { tls?: { certFile: string; keyFile: string } } {
  if (!certFile && !keyFile) return {};
  if (!certFile || !keyFile) throw new SvcdnsError('ERR_CONFIG', '--tls-cert-file and --tls-key-file go together: give both');
  return { tls: { certFile, keyFile } };
}

/** openTls loads the HTTPS certificate, or creates a self-signed one for the names clients dial. */
async function openTls(config: ServeConfig, log: Logger): Promise<{ cert: string; key: string } | undefined> {
  if (!config.tls) return undefined;
  const host = config.http.host;
  // Listening on every address: the certificate names every address of the machine.
  const all = host === '0.0.0.0' || host === '::' || host === '';
  const own = all ? Object.values(networkInterfaces()).flatMap((list) => (list ?? []).filter((a) => !a.internal && !a.address.startsWith('fe80:')).map((a) => a.address)) : [host];
  const hosts = ['127.0.0.1', '::1', 'localhost', hostname(), ...own];
  const r = await loadOrCreateTls(config.tls.certFile, config.tls.keyFile, hosts);
  if (!r.ok) throw new SvcdnsError('ERR_CONFIG', `--tls-cert-file/--tls-key-file: ${r.error}`);
  if (r.value.created) log.info({ cert: config.tls.certFile, key: config.tls.keyFile, hosts }, 'created a self-signed TLS certificate (svcdns kubeconfig --tls-cert-file embeds it as the CA)');
  return r.value;
}

function readTokens(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SvcdnsError('ERR_CONFIG', `--token-file ${file}: ${(err as Error).message}`);
  }
  const tokens = parseTokenFile(text);
  if (tokens.length === 0) throw new SvcdnsError('ERR_CONFIG', `--token-file ${file} holds no token: put one per line (e.g. the output of: openssl rand -hex 32)`);
  return tokens;
}

/**
 * apiZone picks the zone API objects go to: --api-zone, else cluster.local when served, else the
 * first zone. A zone folder that does not exist yet is created, so the API works from an empty
 * zones/ folder too.
 */
async function apiZone(store: FileStore, config: ServeConfig, log: Logger): Promise<string> {
  const served = () => store.zones().map((z) => z.domain);
  const wanted = config.apiZone ?? (served().includes('cluster.local') ? 'cluster.local' : (served()[0] ?? 'cluster.local'));
  if (!served().includes(wanted)) {
    const dir = join(config.zonesDir, wanted);
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw new SvcdnsError('ERR_ZONE_READ', `cannot create the API zone folder ${dir}: ${(err as Error).message}`);
    }
    await store.reload();
    if (!served().includes(wanted)) throw new SvcdnsError('ERR_CONFIG', `--api-zone ${wanted}: ${dir} is not a zone folder (a folder named after a domain, e.g. cluster.local)`);
    log.info({ zone: wanted, dir }, 'created the API zone folder');
  }
  return wanted;
}

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * openRegistry starts the store (reading zones/ and following its changes) and builds the first
 * snapshot; it throws when the registry has problems, unless told to skip invalid objects.
 */
async function openRegistry(config: ServeConfig, log: Logger): Promise<{ registry: Registry; store: FileStore }> {
  const regLog = log.child({ module: 'registry' });
  const started = Date.now();
  const store = new FileStore({ root: config.zonesDir, log, skipInvalid: config.skipInvalid });
  const problems = await store.start();
  for (const p of problems) regLog.error({ code: p.code, file: p.file, line: p.line, path: p.path }, formatProblem(p));
  if (problems.length && !config.skipInvalid) {
    await store.close();
    throw new SvcdnsError(
      'ERR_ZONE_INVALID',
      `refusing to start: ${problems.length} problem(s) in ${config.zonesDir} (listed above). Fix them (svcdns check lists them) or pass --skip-invalid to serve the valid objects`,
    );
  }
  const registry = new Registry();
  followStore({ store, registry, log }).rebuild();
  regLog.info({ zones: store.zones().map((z) => z.domain), ...registry.current?.counts, ms: Date.now() - started }, 'registry loaded');
  return { registry, store };
}

/** startServe loads the registry and opens the DNS and HTTP listeners; it throws SvcdnsError when it cannot. */
export async function startServe(config: ServeConfig, log: Logger): Promise<Running> {
  const { registry, store, ready } = config.etcd ? openEtcdRegistry(config.etcd, log) : { ...(await openRegistry(config, log)), ready: undefined };
  const closers: Array<() => Promise<void>> = [() => store.close()];
  let zone: string;
  try {
    // With etcd a zone exists when its key does: nothing to create here (import creates zones).
    // Only the process that serves the API (worker 0 with --workers) creates its zone folder.
    const apiHere = !config.role || config.role.index === 0;
    zone = config.etcd || !apiHere ? (config.apiZone ?? 'cluster.local') : await apiZone(store as FileStore, config, log);
  } catch (err) {
    await store.close();
    throw err;
  }
  let closeHttp: (() => Promise<void>) | undefined;
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c();
    await closeHttp?.();
    closeHttp = undefined;
  };
  try {
    const metrics = createMetricsRegistry({ version: PACKAGE_VERSION });
    const stats = new DnsStats(registry);
    dnsMetrics(metrics, stats);
    const regMetrics = registryMetrics(metrics, registry, { failedReloads: () => reloadFailures(store) });
    const readiness = new Readiness();
    const resolver = config.resolver ? buildResolver(config.resolver, registry, log) : undefined;
    if (resolver) resolverMetrics(metrics, resolver.stats);
    if (store instanceof EtcdStore) etcdMetrics(metrics, store);
    closers.push(async () => resolver?.close());
    const observe = queryObserver({ stats, queryLog: config.logQueries ? log.child({ module: 'query' }) : undefined });
    const udp = config.rateLimit.qps > 0 ? { rateLimit: config.rateLimit } : {};
    const dns = createDnsServer({ registry, log, handlers: resolver?.handlers, recursionAvailable: resolver?.recursionAvailable, observe, listenerStats: stats, udp, tcp: config.tcp });
    const dnsAddr = await listening('DNS', config.dns, '--dns', () => dns.listen(config.dns.host, config.dns.port));
    closers.push(() => dns.close());
    await resolver?.checkLoops({ host: config.dns.host, port: dnsAddr.udp.port });
    const shutdown = (cut?: Promise<unknown>) => gracefulShutdown({ lameduckMs: config.lameduckMs, readiness, log: log.child({ module: 'shutdown' }), close, cut });
    // --workers N: every worker hands its DNS counters to worker 0's /metrics; workers other
    // than 0 serve DNS only (no HTTP: the API stays single-writer).
    let link: ReturnType<typeof linkWorker> | undefined;
    if (config.role) {
      const shared = dnsOnlyRegistry();
      dnsMetrics(shared, stats);
      link = linkWorker(config.role, shared, readiness);
      if (config.role.index > 0) {
        log.info({ worker: config.role.index, udp: fmt(dnsAddr.udp), tcp: fmt(dnsAddr.tcp) }, 'worker serving DNS');
        const none = { address: '', family: '', port: 0 };
        return { registry, store, dns, addresses: { ...dnsAddr, http: none }, stats: resolver?.stats ?? {}, close, metrics, readiness, registryMetrics: regMetrics, shutdown, link };
      }
    }
    const metricsText = link?.metricsText;
    const routes: Route[] = [
      ...healthRoutes({ registry, checks: ready ? [ready] : [], readiness }),
      ...metricsRoutes({ registry: metrics, ...(metricsText ? { text: () => metricsText(metrics) } : {}) }),
      ...envRoutes({ registry }),
      ...apiRoutes({ store, zone, auth: config.auth, log, version: PACKAGE_VERSION }),
    ];
    const tls = await openTls(config, log);
    if (config.auth.tokens.length && !tls) {
      log.warn('API writes need a token, but --http serves plain HTTP: kubectl sends tokens only over https. Add --tls-cert-file and --tls-key-file (created when missing)');
    }
    const http: HttpServer = createHttpServer({ log, routes, ...(tls ? { tls } : {}) });
    const httpAddr = await listening('HTTP', config.http, '--http', () => http.listen(config.http.host, config.http.port));
    // HTTP closes last: /health stays up while DNS drains.
    closeHttp = () => http.close();
    const addresses = { ...dnsAddr, http: httpAddr };
    log.info({ udp: fmt(addresses.udp), tcp: fmt(addresses.tcp), http: fmt(addresses.http), scheme: tls ? 'https' : 'http', apiZone: zone, apiWrites: config.auth.tokens.length ? 'token' : config.auth.insecureAllowWrites ? 'insecure' : 'disabled', ...opsSummary(config) }, 'serving DNS');
    return { registry, store, dns, addresses, stats: resolver?.stats ?? {}, close, metrics, readiness, registryMetrics: regMetrics, shutdown, ...(link ? { link } : {}) };
  } catch (err) {
    await close();
    throw err;
  }
}

async function listening<T>(what: string, at: { host: string; port: number }, flag: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (err) {
    // Ports below 1024 (53) need root or CAP_NET_BIND_SERVICE: say so, and how the unit file does it.
    const hint = (err as NodeJS.ErrnoException).code === 'EACCES' && at.port < 1024 ? ` (ports below 1024 need CAP_NET_BIND_SERVICE: AmbientCapabilities=CAP_NET_BIND_SERVICE in packaging/svcdns.service)` : '';
    throw new SvcdnsError('ERR_LISTEN', `cannot listen for ${what} on ${at.host}:${at.port}: ${(err as Error).message}${hint}. Pick another address with ${flag} HOST:PORT`);
  }
}

const fmt = (a: AddressInfo) => (a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`);

/** serveCommand runs `svcdns serve` until SIGINT or SIGTERM. */
export async function serveCommand(argv: string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream): Promise<number> {
  const { values } = parseFlags(argv, env, SERVE_FLAGS);
  if (values.help) {
    out.write(helpText('svcdns serve [options]', 'Serve the registry in --zones (or in etcd, with --etcd) over DNS, with health and other endpoints over HTTP.', SERVE_FLAGS));
    return 0;
  }
  // Readable lines for a person at a terminal, JSON for everything else (journald, docker logs).
  const log = createLogger({ level: logLevel(values['log-level']), pretty: (out as NodeJS.WriteStream).isTTY === true });
  const config = serveConfig(values);
  // --workers N: this process only starts and stops the workers (src/cli/workers.ts).
  if (config.workers > 1 && cluster.isPrimary) return runPrimary(config.workers, log);
  const role = workerRole(env, config.workers);
  if (role) config.role = role;
  let running: Running;
  try {
    running = await startServe(config, log);
  } catch (err) {
    log.fatal({ code: (err as SvcdnsError).code }, (err as Error).message);
    log.flush();
    // A worker's channel to the primary would keep it alive: close it, so the worker exits.
    if (role) cluster.worker?.disconnect();
    return 2;
  }
  const reload = () => {
    log.info({ signal: 'SIGHUP' }, 'reloading every zone file');
    void running.store.reload();
  };
  process.on('SIGHUP', reload);
  // The first SIGTERM or SIGINT starts the lameduck; a second one cuts it short.
  const signalled = () =>
    new Promise<string>((resolve) => {
      const on = (signal: string) => {
        process.off('SIGINT', on);
        process.off('SIGTERM', on);
        resolve(signal);
      };
      process.on('SIGINT', on);
      process.on('SIGTERM', on);
    });
  running.link?.serving();
  // A worker stops when the primary says so (it got the signal), or on its own signal.
  const signal = await Promise.race([signalled(), ...(running.link ? [running.link.stopped.then(() => 'primary')] : [])]);
  log.info({ signal }, 'shutting down');
  process.off('SIGHUP', reload);
  await running.shutdown(signalled());
  log.flush();
  running.link?.done();
  return 0;
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
function logLevel(v: string): (typeof LEVELS)[number] {
  const level = LEVELS.find((l) => l === v);
  if (!level) throw new SvcdnsError('ERR_CONFIG', `--log-level ${v}: expected one of ${LEVELS.join(', ')}`);
  return level;
}

// The operations settings worth seeing in the start-up line.
function opsSummary(config: ServeConfig): Record<string, unknown> {
  return {
    lameduck_ms: config.lameduckMs,
    log_queries: config.logQueries,
    rate_limit: config.rateLimit.qps ? config.rateLimit : 'off',
    tcp_max_connections: config.tcp.maxConnections,
    tcp_idle_timeout_ms: config.tcp.idleTimeoutMs,
  };
}

// Reloads the store refused (a file that no longer parses or validates), when it counts them.
function reloadFailures(store: ObjectStore): number {
  const stats = (store as { stats?: { failedReloads?: unknown } }).stats;
  return typeof stats?.failedReloads === 'number' ? stats.failedReloads : 0;
}
