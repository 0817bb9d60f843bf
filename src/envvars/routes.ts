import type { ServerResponse } from 'node:http';
import { sendText, type Route } from '../http/server.js';
import { parseIP } from '../net/ip.js';
import type { Registry } from '../registry/registry.js';
import { Fields } from '../registry/sources/fields.js';
import { ENV_FORMATS, parseEnvFormat, type EnvFormat } from './format.js';
import { renderEnv } from './render.js';
import { formatResolvConf, podResolv } from './resolv.js';
import { pickZone } from './zone.js';

const CONTENT_TYPES: Record<EnvFormat, string> = {
  env: 'text/plain; charset=utf-8',
  shell: 'text/plain; charset=utf-8',
  json: 'application/json',
};

/** A request error: the status and a message that says what to send instead. */
class BadRequest extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function namespaceParam(raw: string | null): string {
  if (raw === null || raw === '') throw new BadRequest(400, 'namespace is required, e.g. ?namespace=default\n');
  const f = new Fields();
  const ns = f.label(raw, ['namespace']);
  if (ns === undefined) throw new BadRequest(400, `namespace ${f.problems[0]?.message ?? 'is invalid'}\n`);
  return ns;
}

function boolParam(name: string, raw: string | null, fallback: boolean): boolean {
  if (raw === null) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new BadRequest(400, `bad ${name} ${JSON.stringify(raw)}: expected true or false\n`);
}

function zoneFor(registry: Registry, domain: string | null) {
  const snapshot = registry.current;
  if (!snapshot) throw new BadRequest(503, 'registry: not loaded\n');
  const zone = pickZone(snapshot.zones, domain ?? undefined);
  if (!zone.ok) throw new BadRequest(404, `${zone.error}\n`);
  return zone.value;
}

/** warn adds an RFC 7234 §5.5 Warning header per message, as the Kubernetes API server does (code 299). */
function warn(res: ServerResponse, messages: readonly string[]): void {
  if (messages.length) res.setHeader('Warning', messages.map((m) => `299 - ${JSON.stringify(m.replace(/[^\x20-\x7e]/g, '?'))}`));
}

function guarded(handle: (res: ServerResponse, url: URL, params: Record<string, string>) => void): Route['handle'] {
  return ({ res, url, params }) => {
    try {
      handle(res, url, params);
    } catch (e) {
      if (!(e instanceof BadRequest)) throw e;
      sendText(res, e.status, e.message);
    }
  };
}

/**
 * envRoutes serves the env file of a namespace, `GET /env/<namespace>?format=env|shell|json`
 * (`serviceLinks=false`, `domain=D` optional), and a ClusterFirst pod's resolv.conf,
 * `GET /resolv.conf?namespace=NS` (`domain`, `nameserver=IP,...` optional; no node file is merged).
 */
export function envRoutes({ registry }: { registry: Registry }): Route[] {
  return [
    {
      method: 'GET',
      path: /^\/env\/(?<namespace>[^/]+)$/,
      handle: guarded((res, url, params) => {
        let raw: string;
        try {
          raw = decodeURIComponent(params.namespace ?? '');
        } catch {
          throw new BadRequest(400, 'namespace is not valid percent-encoding\n');
        }
        const namespace = namespaceParam(raw);
        const formatRaw = url.searchParams.get('format') ?? 'env';
        const format = parseEnvFormat(formatRaw);
        if (!format) throw new BadRequest(400, `bad format ${JSON.stringify(formatRaw)}: expected one of ${ENV_FORMATS.join(', ')}\n`);
        const serviceLinks = boolParam('serviceLinks', url.searchParams.get('serviceLinks'), true);
        const zone = zoneFor(registry, url.searchParams.get('domain'));
        const r = renderEnv(zone, { namespace, serviceLinks, format });
        const warnings = r.namespaceExists ? r.warnings : [`namespace "${namespace}" does not exist in zone ${zone.settings.domain}: only the kubernetes variables are written`, ...r.warnings];
        warn(res, warnings);
        sendText(res, 200, r.text, CONTENT_TYPES[format]);
      }),
    },
    {
      method: 'GET',
      path: '/resolv.conf',
      handle: guarded((res, url) => {
        const namespace = namespaceParam(url.searchParams.get('namespace'));
        const zone = zoneFor(registry, url.searchParams.get('domain'));
        const listed = (url.searchParams.get('nameserver') ?? '').split(',').filter(Boolean);
        const clusterDNS = listed.map((s) => {
          const ip = parseIP(s.trim());
          if (!ip) throw new BadRequest(400, `bad nameserver ${JSON.stringify(s)}: expected an IP address\n`);
          return ip.text;
        });
        const r = podResolv({ namespace }, { clusterDNS: clusterDNS.length ? clusterDNS : [zone.settings.dnsServiceIP], clusterDomain: zone.settings.domain, host: null });
        warn(res, [...(zone.namespaces.has(namespace) ? [] : [`namespace "${namespace}" does not exist in zone ${zone.settings.domain}`]), ...r.warnings]);
        sendText(res, 200, formatResolvConf(r));
      }),
    },
  ];
}
