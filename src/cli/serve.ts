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
import { Registry } from '../registry/registry.js';
import { followStore } from '../registry/runtime.js';
import { formatProblem } from '../result.js';
import { openEtcdRegistry } from '../store/etcd/open.js';
import { FileStore } from '../store/files/store.js';
import type { ObjectStore } from '../store/types.js';
import { helpText, parseFlags, parseHostPort, type Flags } from './args.js';
import { buildResolver, RESOLVER_FLAGS, resolverConfig, type Resolver, type ResolverConfig } from './resolver.js';
import { DEFAULT_ETCD_PREFIX, etcdTarget } from './etcd-flags.js';

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
}

/** Running is a started server. */
export interface Running {
  registry: Registry;
  store: ObjectStore;
  dns: DnsServer;
  addresses: { udp: AddressInfo; tcp: AddressInfo; http: AddressInfo };
  /** The resolver's counters (cache, forward, autopath), for metrics. */
  stats: Resolver['stats'];
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
    zone = config.etcd ? (config.apiZone ?? 'cluster.local') : await apiZone(store as FileStore, config, log);
  } catch (err) {
    await store.close();
    throw err;
  }
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c();
  };
  try {
    const resolver = config.resolver ? buildResolver(config.resolver, registry, log) : undefined;
    closers.push(async () => resolver?.close());
    const dns = createDnsServer({ registry, log, handlers: resolver?.handlers, recursionAvailable: resolver?.recursionAvailable });
    const dnsAddr = await listening('DNS', config.dns, '--dns', () => dns.listen(config.dns.host, config.dns.port));
    closers.push(() => dns.close());
    await resolver?.checkLoops({ host: config.dns.host, port: dnsAddr.udp.port });
    const routes: Route[] = [
      ...healthRoutes({ registry, checks: ready ? [ready] : [] }),
      ...envRoutes({ registry }),
      ...apiRoutes({ store, zone, auth: config.auth, log, version: PACKAGE_VERSION }),
    ];
    const tls = await openTls(config, log);
    if (config.auth.tokens.length && !tls) {
      log.warn('API writes need a token, but --http serves plain HTTP: kubectl sends tokens only over https. Add --tls-cert-file and --tls-key-file (created when missing)');
    }
    const http: HttpServer = createHttpServer({ log, routes, ...(tls ? { tls } : {}) });
    const httpAddr = await listening('HTTP', config.http, '--http', () => http.listen(config.http.host, config.http.port));
    closers.push(() => http.close());
    const addresses = { ...dnsAddr, http: httpAddr };
    log.info({ udp: fmt(addresses.udp), tcp: fmt(addresses.tcp), http: fmt(addresses.http), scheme: tls ? 'https' : 'http', apiZone: zone, apiWrites: config.auth.tokens.length ? 'token' : config.auth.insecureAllowWrites ? 'insecure' : 'disabled' }, 'serving DNS');
    return { registry, store, dns, addresses, stats: resolver?.stats ?? {}, close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function listening<T>(what: string, at: { host: string; port: number }, flag: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (err) {
    throw new SvcdnsError('ERR_LISTEN', `cannot listen for ${what} on ${at.host}:${at.port}: ${(err as Error).message}. Pick another address with ${flag} HOST:PORT`);
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
  const log = createLogger({ level: logLevel(values['log-level']) });
  const config = serveConfig(values);
  let running: Running;
  try {
    running = await startServe(config, log);
  } catch (err) {
    log.fatal({ code: (err as SvcdnsError).code }, (err as Error).message);
    log.flush();
    return 2;
  }
  const reload = () => {
    log.info({ signal: 'SIGHUP' }, 'reloading every zone file');
    void running.store.reload();
  };
  process.on('SIGHUP', reload);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.off('SIGHUP', reload);
  await running.close();
  log.flush();
  return 0;
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
function logLevel(v: string): (typeof LEVELS)[number] {
  const level = LEVELS.find((l) => l === v);
  if (!level) throw new SvcdnsError('ERR_CONFIG', `--log-level ${v}: expected one of ${LEVELS.join(', ')}`);
  return level;
}
