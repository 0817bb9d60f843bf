/**
 * Reading the DNS fields of a v1 Pod manifest (namespace, dnsPolicy, hostNetwork, dnsConfig), with
 * the checks the API server makes on them (validatePodDNSConfig), so that a Pod Kubernetes would
 * refuse is refused here too, with file:line.
 */
import { extname } from 'node:path';
import type { Problem } from '../result.js';
import { fail, ok, type Result } from '../result.js';
import { locateLine, parseJsonDocument, parseYamlDocuments } from '../registry/sources/documents.js';
import { Fields, describe, formatPath, isSubdomain } from '../registry/sources/fields.js';
import { DNS_POLICIES, EXPANDED_LIMITS, type DnsPolicy, type PodDNS, type PodDNSOption } from './resolv.js';

/** PodManifest is the Pod's DNS fields; `namespace` is undefined when the manifest sets none. */
export interface PodManifest extends Omit<PodDNS, 'namespace'> {
  name?: string;
  namespace?: string;
}

/** parsePodManifest reads one Pod from a YAML or JSON text; every problem carries file and line. */
export function parsePodManifest(file: string, text: string): Result<PodManifest, Problem[]> {
  const docs = (extname(file).toLowerCase() === '.json' ? [parseJsonDocument(text)] : parseYamlDocuments(text)).filter(
    (d) => !d.ok || (d.value !== null && d.value !== undefined),
  );
  const at = (message: string, line?: number, path?: string): Problem => ({ code: 'ERR_POD_INVALID', file, ...(line ? { line } : {}), ...(path ? { path } : {}), message });
  const [doc, second] = docs;
  if (!doc) return fail([at('holds no object: expected one v1 Pod', 1)]);
  if (!doc.ok) return fail([at(doc.message, doc.line)]);
  if (second) return fail([at(`holds ${docs.length} documents: expected exactly one v1 Pod`, second.doc.line)]);
  const f = new Fields();
  const pod = readPod(f, doc.value);
  if (f.problems.length || !pod) return fail(f.problems.map((p) => at(p.message, locateLine(doc.doc, p.path), p.path.length ? formatPath(p.path) : undefined)));
  return ok(pod);
}

function readPod(f: Fields, raw: unknown): PodManifest | undefined {
  const obj = f.record(raw, [], true);
  if (!obj) return undefined;
  if (obj.kind !== 'Pod' || obj.apiVersion !== 'v1') {
    const what = typeof obj.kind === 'string' ? `is a ${obj.kind}${typeof obj.apiVersion === 'string' ? ` (${obj.apiVersion})` : ''}` : 'is not a Kubernetes object (no kind)';
    return f.fail([], `${what}, not a Pod: expected apiVersion: v1 and kind: Pod`);
  }
  const meta = f.record(obj.metadata, ['metadata']) ?? {};
  const name = f.string(meta.name, ['metadata', 'name']);
  const namespace = meta.namespace === undefined ? undefined : f.label(meta.namespace, ['metadata', 'namespace']);
  const spec = f.record(obj.spec, ['spec'], true) ?? {};
  let dnsPolicy: DnsPolicy | undefined;
  if (spec.dnsPolicy !== undefined && spec.dnsPolicy !== null) {
    dnsPolicy = DNS_POLICIES.find((p) => p === spec.dnsPolicy);
    if (!dnsPolicy) f.fail(['spec', 'dnsPolicy'], `must be one of ${DNS_POLICIES.join(', ')}, not ${describe(spec.dnsPolicy)}`);
  }
  const hostNetwork = f.bool(spec.hostNetwork, ['spec', 'hostNetwork']);
  const dnsConfig = readDnsConfig(f, spec.dnsConfig);
  if (dnsPolicy === 'None' && !dnsConfig?.nameservers?.length) {
    f.fail(['spec', 'dnsPolicy'], 'is None: spec.dnsConfig.nameservers must provide at least one DNS nameserver');
  }
  return {
    ...(name !== undefined ? { name } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
    ...(dnsPolicy ? { dnsPolicy } : {}),
    ...(hostNetwork !== undefined ? { hostNetwork } : {}),
    ...(dnsConfig ? { dnsConfig } : {}),
  };
}

function readDnsConfig(f: Fields, raw: unknown): PodDNS['dnsConfig'] {
  const dc = f.record(raw, ['spec', 'dnsConfig']);
  if (!dc) return undefined;
  const path = (k: string, i?: number) => (i === undefined ? ['spec', 'dnsConfig', k] : ['spec', 'dnsConfig', k, i]);
  const nameserverList = f.list(dc.nameservers, path('nameservers'));
  if (nameserverList.length > EXPANDED_LIMITS.nameservers) f.fail(path('nameservers'), `must not have more than ${EXPANDED_LIMITS.nameservers} nameservers`);
  // The API keeps a nameserver as written once it is a valid IP; so does kubelet.
  const nameservers = nameserverList.flatMap((v, i) => (f.ip(v, path('nameservers', i)) ? [v as string] : []));
  const searchList = f.list(dc.searches, path('searches'));
  if (searchList.length > EXPANDED_LIMITS.searchPaths) f.fail(path('searches'), `must not have more than ${EXPANDED_LIMITS.searchPaths} search paths`);
  const searches = searchList.flatMap((v, i) => {
    const s = f.string(v, path('searches', i), true);
    if (s === undefined) return [];
    // One trailing dot is accepted (an absolute name), as the API server does since 1.14 (kubernetes#74686).
    if (!isSubdomain(s.replace(/\.$/, ''))) return f.fail(path('searches', i), `${JSON.stringify(s)} must be a DNS-1123 subdomain (lower-case labels separated by dots)`) ?? [];
    return [s];
  });
  if (searches.join(' ').length > EXPANDED_LIMITS.searchChars) f.fail(path('searches'), `must not have more than ${EXPANDED_LIMITS.searchChars} characters (including spaces) in the search list`);
  const options = f.list(dc.options, path('options')).flatMap((v, i): PodDNSOption[] => {
    const o = f.record(v, path('options', i), true);
    if (!o) return [];
    const name = f.string(o.name, [...path('options', i), 'name'], true);
    if (name === '') f.fail([...path('options', i), 'name'], 'must not be empty');
    const value = f.string(o.value, [...path('options', i), 'value']);
    return name ? [{ name, ...(value !== undefined ? { value } : {}) }] : [];
  });
  return { nameservers, searches, options };
}
