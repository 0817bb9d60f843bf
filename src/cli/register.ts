import { SvcdnsError } from '../errors.js';
import { parseIP } from '../net/ip.js';
import { isSubdomain } from '../registry/sources/fields.js';
import { Registration } from '../store/etcd/register.js';
import { helpText, parseFlags, type Flags } from './args.js';
import { ETCD_FLAGS, etcdTarget, logLevel } from './etcd-flags.js';
import { createLogger } from '../log.js';

/** Flags of `svcdns register`. */
export const REGISTER_FLAGS = {
  service: { type: 'string', arg: 'NS/NAME', help: 'the Service this instance backs (required)' },
  ip: { type: 'string', arg: 'IP', help: "this instance's address (required)" },
  port: { type: 'string', arg: 'N', help: "this instance's port (required)" },
  'port-name': { type: 'string', arg: 'NAME', help: "the port's name (default: the Service's, when it has one port); SRV records need it" },
  protocol: { type: 'string', arg: 'PROTO', default: 'TCP', help: 'TCP, UDP or SCTP' },
  hostname: { type: 'string', arg: 'NAME', help: 'endpoint hostname: also answer <hostname>.<service>.<ns>.svc.<zone>' },
  ttl: { type: 'string', arg: 'DURATION', default: '10s', help: 'lease TTL: the endpoint vanishes this long after the process dies (whole seconds, at least 2s)' },
  zone: { type: 'string', arg: 'DOMAIN', default: 'cluster.local', help: 'the zone (cluster domain) in etcd' },
  slice: { type: 'string', arg: 'NAME', help: 'EndpointSlice name (default <service>-<ip>-<port>)' },
  'create-service': { type: 'boolean', default: false, help: 'create a headless Service when there is none, instead of refusing' },
  ...ETCD_FLAGS,
  'log-level': { type: 'string', arg: 'LEVEL', default: 'info', help: 'fatal, error, warn, info, debug, trace or silent' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
} satisfies Flags;

/**
 * registerCommand runs `svcdns register`: it holds this instance's endpoint in the registry under
 * an etcd lease until SIGTERM or SIGINT (then revokes it: the endpoint vanishes at once).
 */
export async function registerCommand(argv: string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream): Promise<number> {
  const { values } = parseFlags(argv, env, REGISTER_FLAGS);
  if (values.help) {
    out.write(
      helpText(
        'svcdns register --service NS/NAME --ip IP --port N --etcd URL [options]',
        "Hold this instance's endpoint (an EndpointSlice with one ready endpoint) in the etcd registry under a lease, until SIGTERM/SIGINT. If the process dies, the endpoint vanishes from every replica's DNS within the TTL.",
        REGISTER_FLAGS,
      ),
    );
    return 0;
  }
  const target = etcdTarget(values.etcd, values['etcd-prefix']);
  const [namespace, service, ...rest] = (values.service ?? '').split('/');
  if (!namespace || !service || rest.length) throw new SvcdnsError('ERR_CONFIG', `--service ${values.service ?? ''}: expected NAMESPACE/NAME, e.g. default/web`);
  const ip = values.ip !== undefined ? parseIP(values.ip) : null;
  if (!ip) throw new SvcdnsError('ERR_CONFIG', `--ip ${values.ip ?? ''}: expected this instance's IPv4 or IPv6 address`);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new SvcdnsError('ERR_CONFIG', `--port ${values.port ?? ''}: expected a port number between 1 and 65535`);
  const protocol = values.protocol.toUpperCase();
  if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') throw new SvcdnsError('ERR_CONFIG', `--protocol ${values.protocol}: expected TCP, UDP or SCTP`);
  const ttlSeconds = parseSeconds('ttl', values.ttl);
  const zone = values.zone.toLowerCase().replace(/\.$/, '');
  if (!isSubdomain(zone)) throw new SvcdnsError('ERR_CONFIG', `--zone ${values.zone}: expected a domain such as cluster.local`);

  const log = createLogger({ level: logLevel(values['log-level']) });
  const reg = new Registration({
    ...target,
    zone,
    namespace,
    service,
    ip: ip.text,
    port,
    protocol,
    ttlSeconds,
    createService: values['create-service'],
    log,
    ...(values['port-name'] !== undefined ? { portName: values['port-name'] } : {}),
    ...(values.hostname !== undefined ? { hostname: values.hostname } : {}),
    ...(values.slice !== undefined ? { sliceName: values.slice } : {}),
  });
  const started = await reg.start();
  if (!started.ok) {
    await reg.stop().catch(() => undefined);
    log.flush();
    throw new SvcdnsError(started.error.startsWith('etcd:') ? 'ERR_ETCD' : 'ERR_REGISTER', started.error);
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'deregistering');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await reg.stop();
  log.flush();
  return 0;
}

/** parseSeconds reads a whole number of seconds: 10s, 2m, 1h or a bare 10. */
function parseSeconds(flag: string, value: string): number {
  const m = /^(\d+)(s|m|h)?$/.exec(value.trim());
  const n = m ? Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1) : NaN;
  if (!(n >= 2 && n <= 86_400)) throw new SvcdnsError('ERR_CONFIG', `--${flag} ${value}: expected whole seconds between 2s and 24h, e.g. 10s`);
  return n;
}
