import { readFile, stat } from 'node:fs/promises';
import { MAX_NODE_RESOLV_BYTES, parseNodeResolvConf } from '../envvars/node-resolv.js';
import { parsePodManifest, type PodManifest } from '../envvars/pod.js';
import { formatResolvConf, podResolv, type DNSConfig } from '../envvars/resolv.js';
import { pickZone } from '../envvars/zone.js';
import { SvcdnsError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { parseIP } from '../net/ip.js';
import type { ZoneView } from '../registry/content.js';
import { formatProblem } from '../result.js';
import { helpText, parseFlags, type Flags } from './args.js';
import { requireNamespace } from './env.js';
import { REGISTRY_FLAGS, loadOrFail, registrySource } from './registry-input.js';

/** kubelet's default --resolv-conf: the node's own resolver configuration. */
export const DEFAULT_HOST_RESOLV = '/etc/resolv.conf';

/** Flags of `svcdns resolv-conf`. */
export const RESOLV_FLAGS = {
  namespace: { type: 'string', short: 'n', arg: 'NS', help: "the pod's namespace (a ClusterFirst pod), or with --pod the namespace of a Pod that sets none" },
  pod: { type: 'string', arg: 'POD.yaml', help: 'a v1 Pod manifest: its namespace, dnsPolicy, hostNetwork and dnsConfig decide' },
  nameserver: { type: 'string', multiple: true, arg: 'IP,...', help: "cluster DNS address(es), kubelet's --cluster-dns (default: the zone's dnsServiceIP)" },
  ...REGISTRY_FLAGS,
  'host-resolv': {
    type: 'string',
    arg: 'FILE',
    help: `the node's resolv.conf, kubelet's --resolv-conf (default ${DEFAULT_HOST_RESOLV}; "" for none)`,
  },
  output: { type: 'string', short: 'o', arg: 'FILE', help: 'write FILE atomically instead of stdout' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
} satisfies Flags;

const USAGE = 'svcdns resolv-conf (--namespace NS | --pod POD.yaml) [--nameserver IP,...] [--domain D] [--host-resolv FILE] [--zones DIR | -f PATH...] [-o FILE]';

/** readPod reads and checks a Pod manifest; anything else is a usage error (exit 2). */
async function readPod(file: string, err: NodeJS.WritableStream): Promise<PodManifest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new SvcdnsError('ERR_POD_INVALID', `--pod ${file}: cannot read: ${(e as Error).message}`);
  }
  const pod = parsePodManifest(file, text);
  if (pod.ok) return pod.value;
  for (const p of pod.error) err.write(`${formatProblem(p)}\n`);
  throw new SvcdnsError('ERR_POD_INVALID', `--pod ${file}: not a valid v1 Pod (${pod.error.length} problem(s) listed above)`);
}

/** readHostResolv reads the node file; null is kubelet's --resolv-conf="" (none). */
async function readHostResolv(file: string | undefined, warn: (m: string) => void): Promise<DNSConfig | null> {
  if (file === '') return null;
  const path = file ?? DEFAULT_HOST_RESOLV;
  let text: string;
  try {
    if ((await stat(path)).size > MAX_NODE_RESOLV_BYTES) throw new Error(`larger than ${MAX_NODE_RESOLV_BYTES} bytes`);
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (file === undefined && (e as NodeJS.ErrnoException).code === 'ENOENT') {
      // No /etc/resolv.conf: libc then asks the local machine, which is kubelet's --resolv-conf="".
      warn(`${DEFAULT_HOST_RESOLV} does not exist: using no node file (as kubelet --resolv-conf="")`);
      return null;
    }
    throw new SvcdnsError('ERR_RESOLV_PARSE', `--host-resolv ${path}: cannot read: ${(e as Error).message}`);
  }
  const parsed = parseNodeResolvConf(text);
  const bad = parsed.problems[0];
  if (bad) throw new SvcdnsError('ERR_RESOLV_PARSE', `--host-resolv ${path}:${bad.line}: ${bad.message}`);
  return parsed.config;
}

/** parseNameservers reads --nameserver values (repeatable, comma lists) into canonical addresses. */
function parseNameservers(values: readonly string[]): string[] {
  return values
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      // kubelet holds --cluster-dns as net.IP and writes ip.String(): canonical, IPv6 unbracketed.
      const ip = parseIP(s.replace(/^\[(.*)\]$/, '$1'));
      if (!ip) throw new SvcdnsError('ERR_CONFIG', `--nameserver ${s}: expected an IP address (resolv.conf has no port: see README, "Reaching svcdns on port 53")`);
      return ip.text;
    });
}

/** resolvConfCommand runs `svcdns resolv-conf`: the /etc/resolv.conf kubelet would give a pod. */
export async function resolvConfCommand(argv: string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const { values } = parseFlags(argv, env, RESOLV_FLAGS);
  if (values.help) {
    out.write(helpText(USAGE, "Write the resolv.conf kubelet would give a pod, from its namespace or its manifest.", RESOLV_FLAGS));
    return 0;
  }
  const warn = (m: string) => err.write(`svcdns resolv-conf: warning: ${m}\n`);
  if (values.namespace === undefined && values.pod === undefined) throw new SvcdnsError('ERR_CONFIG', `give --namespace NS or --pod POD.yaml; usage: ${USAGE}`);
  const pod: PodManifest = values.pod !== undefined ? await readPod(values.pod, err) : {};
  if (values.namespace !== undefined && pod.namespace !== undefined && values.namespace !== pod.namespace) {
    throw new SvcdnsError('ERR_CONFIG', `the Pod's namespace "${pod.namespace}" does not match --namespace ${values.namespace}`);
  }
  const namespace = requireNamespace(values.namespace ?? pod.namespace ?? 'default', USAGE);
  const nameservers = parseNameservers(values.nameserver);
  const source = registrySource(argv, values);

  // The registry gives what the flags leave out: the cluster domain and the DNS service address.
  let zone: ZoneView | undefined;
  const registryAsked = values.zones !== undefined || values.file.length > 0;
  if (nameservers.length === 0 || values.domain === undefined || registryAsked) {
    const picked = pickZone(await loadOrFail(source, err), values.domain);
    if (picked.ok) zone = picked.value;
    else if (nameservers.length === 0 || values.domain === undefined) throw new SvcdnsError('ERR_CONFIG', `--domain: ${picked.error}`);
  }
  if (zone && !zone.namespaces.has(namespace)) warn(`namespace "${namespace}" does not exist in zone ${zone.settings.domain}`);

  const host = await readHostResolv(values['host-resolv'], warn);
  const clusterDomain = source.domain ?? zone?.settings.domain ?? '';
  const clusterDNS = nameservers.length ? nameservers : zone ? [zone.settings.dnsServiceIP] : [];
  const result = podResolv({ ...pod, namespace }, { clusterDNS, clusterDomain, host });
  for (const w of result.warnings) warn(w);
  const text = formatResolvConf(result);
  if (values.output === undefined) {
    out.write(text);
    return 0;
  }
  try {
    await writeFileAtomic(values.output, text);
  } catch (e) {
    throw new SvcdnsError('ERR_WRITE', `cannot write ${values.output}: ${(e as Error).message}`);
  }
  return 0;
}
