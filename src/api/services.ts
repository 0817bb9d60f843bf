import { parseIP, type Cidr, type IPFamily } from '../net/ip.js';
import { fail, ok, type Result } from '../result.js';
import { AllocationIndex, allocateIP, allocatePort, checkIP, checkPort, RANGE_FULL } from './allocate.js';
import { child, deepEqual, isRecord, str, type Obj } from './json.js';
import type { FieldError } from './status.js';

/**
 * The Service strategy: what the API server does to a Service between decoding and storing it,
 * after kubernetes pkg/apis/core/v1/defaults.go (SetDefaults_Service), pkg/registry/core/service
 * (NormalizeClusterIPs, dropTypeDependentFields, patchAllocatedValues, initIPFamilyFields,
 * allocation) and the update rules of pkg/apis/core/validation.
 */

/** ServiceContext is what allocation needs: the zone's ranges and who holds what. */
export interface ServiceContext {
  cidrs: readonly Cidr[];
  nodePortRange: readonly [number, number];
  index: AllocationIndex;
  /** namespace/name of the Service being written (its own allocations are not "taken"). */
  owner: string;
  random: () => number;
  /** Addresses dynamic allocation never hands out (the zone's DNS service IP). */
  reserved: ReadonlySet<string>;
}

/** StrategyError is why a Service cannot be stored: field errors (422), or an internal failure (500). */
export type StrategyError = { kind: 'invalid'; errors: FieldError[] } | { kind: 'internal'; message: string };

type Spec = Obj;
const specOf = (svc: Obj): Spec => child(svc, 'spec');
const typeOf = (spec: Spec) => str(spec.type) ?? 'ClusterIP';
const needsClusterIP = (spec: Spec) => typeOf(spec) !== 'ExternalName';
const needsNodePort = (spec: Spec) => typeOf(spec) === 'NodePort' || typeOf(spec) === 'LoadBalancer';
const needsHealthCheck = (spec: Spec) => typeOf(spec) === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local';
const ips = (spec: Spec): string[] => (Array.isArray(spec.clusterIPs) ? spec.clusterIPs.filter((x): x is string => typeof x === 'string') : []);
const families = (spec: Spec): string[] => (Array.isArray(spec.ipFamilies) ? spec.ipFamilies.filter((x): x is string => typeof x === 'string') : []);
const ports = (spec: Spec): Obj[] => (Array.isArray(spec.ports) ? spec.ports.filter(isRecord) : []);
const isHeadless = (spec: Spec) => ips(spec).length === 1 && ips(spec)[0] === 'None';
const hasSelector = (spec: Spec) => isRecord(spec.selector) && Object.keys(spec.selector).length > 0;

/** defaultService fills what SetDefaults_Service fills; it allocates nothing. */
export function defaultService(svc: Obj): void {
  const spec = specOf(svc);
  if (spec.sessionAffinity === undefined || spec.sessionAffinity === '') spec.sessionAffinity = 'None';
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === 'ClientIP') {
    const cfg = child(child(spec, 'sessionAffinityConfig'), 'clientIP');
    if (cfg.timeoutSeconds === undefined) cfg.timeoutSeconds = 10800;
  }
  if (spec.type === undefined || spec.type === '') spec.type = 'ClusterIP';
  for (const p of ports(spec)) {
    if (p.protocol === undefined || p.protocol === '') p.protocol = 'TCP';
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  const type = typeOf(spec);
  const externallyAccessible = type === 'LoadBalancer' || type === 'NodePort' || (type === 'ClusterIP' && Array.isArray(spec.externalIPs) && spec.externalIPs.length > 0);
  if (externallyAccessible && (spec.externalTrafficPolicy === undefined || spec.externalTrafficPolicy === '')) spec.externalTrafficPolicy = 'Cluster';
  if (spec.internalTrafficPolicy === undefined && type !== 'ExternalName') spec.internalTrafficPolicy = 'Cluster';
  if (type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts === undefined) spec.allocateLoadBalancerNodePorts = true;
  if (!isRecord(svc.status)) svc.status = { loadBalancer: {} };
  else if (!isRecord(svc.status.loadBalancer)) svc.status.loadBalancer = {};
}

/** normalizeClusterIPs reconciles spec.clusterIP and spec.clusterIPs the way old and new clients send them. */
export function normalizeClusterIPs(svc: Obj, old?: Obj): void {
  const spec = specOf(svc);
  const ip = str(spec.clusterIP) ?? '';
  if (!old) {
    if (ip && ips(spec).length === 0) spec.clusterIPs = [ip];
    return;
  }
  const o = specOf(old);
  const oldIP = str(o.clusterIP) ?? '';
  if (ips(o).length > 0 && ips(spec).length === 0 && oldIP === ip) spec.clusterIPs = [...ips(o)];
  if (oldIP !== ip) {
    if (oldIP && !ip && deepEqual(ips(o), ips(spec))) delete spec.clusterIPs;
    if (ip && deepEqual(ips(o), ips(spec))) spec.clusterIPs = [ip];
  }
}

/** dropTypeDependentFields clears, on a type change, the fields the new type does not use that the user left as they were. */
export function dropTypeDependentFields(svc: Obj, old: Obj): void {
  const spec = specOf(svc);
  const o = specOf(old);
  if (needsClusterIP(o) && !needsClusterIP(spec)) {
    if (deepEqual(ips(o), ips(spec)) && (str(o.clusterIP) ?? '') === (str(spec.clusterIP) ?? '')) {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    }
    if (deepEqual(families(o), families(spec))) delete spec.ipFamilies;
    if (o.ipFamilyPolicy === spec.ipFamilyPolicy) delete spec.ipFamilyPolicy;
    if (o.internalTrafficPolicy === spec.internalTrafficPolicy) delete spec.internalTrafficPolicy;
  }
  const nodePorts = (s: Spec) => ports(s).map((p) => p.nodePort ?? 0);
  if (needsNodePort(o) && !needsNodePort(spec) && deepEqual(nodePorts(o), nodePorts(spec))) for (const p of ports(spec)) delete p.nodePort;
  if (needsHealthCheck(o) && !needsHealthCheck(spec) && o.healthCheckNodePort === spec.healthCheckNodePort) delete spec.healthCheckNodePort;
  if (o.type === 'LoadBalancer' && spec.type !== 'LoadBalancer' && o.allocateLoadBalancerNodePorts === spec.allocateLoadBalancerNodePorts) delete spec.allocateLoadBalancerNodePorts;
  const externallyAccessible = (s: Spec) => typeOf(s) === 'LoadBalancer' || typeOf(s) === 'NodePort' || (Array.isArray(s.externalIPs) && s.externalIPs.length > 0);
  if (!externallyAccessible(spec) && o.externalTrafficPolicy === spec.externalTrafficPolicy) delete spec.externalTrafficPolicy;
}

/**
 * patchAllocatedValues carries over what the server allocated when an update leaves it out
 * (`kubectl replace -f` with a manifest that has no clusterIP or nodePort): the cluster IPs,
 * each port's nodePort (matched by port name) and the health check node port.
 */
export function patchAllocatedValues(svc: Obj, old: Obj): void {
  const spec = specOf(svc);
  const o = specOf(old);
  if (needsClusterIP(o) && needsClusterIP(spec)) {
    if (!str(spec.clusterIP) && str(o.clusterIP)) spec.clusterIP = o.clusterIP;
    if (ips(spec).length === 0 && ips(o).length > 0) spec.clusterIPs = [...ips(o)];
  }
  if (needsNodePort(o) && needsNodePort(spec)) {
    const used = (s: Spec) => new Set(ports(s).map((p) => p.nodePort).filter((n): n is number => typeof n === 'number' && n > 0));
    const newUsed = used(spec);
    const both = new Set([...used(o)].filter((n) => newUsed.has(n)));
    const byName = new Map(ports(o).map((p) => [str(p.name) ?? '', p.nodePort]));
    for (const p of ports(spec)) {
      if (typeof p.nodePort === 'number' && p.nodePort > 0) continue;
      const was = byName.get(str(p.name) ?? '');
      if (typeof was === 'number' && was > 0 && !both.has(was)) p.nodePort = was;
    }
  }
  if (needsHealthCheck(o) && needsHealthCheck(spec) && !spec.healthCheckNodePort && o.healthCheckNodePort) spec.healthCheckNodePort = o.healthCheckNodePort;
}

const otherFamily = (f: string): IPFamily => (f === 'IPv4' ? 'IPv6' : 'IPv4');

/**
 * initIPFamilyFields defaults ipFamilyPolicy and ipFamilies from the request, the old object and
 * the families the zone's service CIDRs cover, with the API server's errors for what cannot be.
 */
export function initIPFamilyFields(svc: Obj, old: Obj | undefined, zoneFamilies: readonly IPFamily[]): FieldError[] {
  const spec = specOf(svc);
  if (!needsClusterIP(spec)) return [];
  const defaultFamily = zoneFamilies[0] ?? 'IPv4';
  if (spec.ipFamilyPolicy === undefined || spec.ipFamilyPolicy === null) {
    const oldPolicy = old ? specOf(old).ipFamilyPolicy : undefined;
    if (typeof oldPolicy === 'string') spec.ipFamilyPolicy = oldPolicy;
    else if (isHeadless(spec) && !hasSelector(spec)) spec.ipFamilyPolicy = 'RequireDualStack';
    else spec.ipFamilyPolicy = 'SingleStack';
  }
  const policy = String(spec.ipFamilyPolicy);
  const errors: FieldError[] = [];
  if (policy !== 'SingleStack' && policy !== 'PreferDualStack' && policy !== 'RequireDualStack') {
    return [{ type: 'NotSupported', field: 'spec.ipFamilyPolicy', value: spec.ipFamilyPolicy, detail: 'supported values: "PreferDualStack", "RequireDualStack", "SingleStack"' }];
  }
  if (policy === 'SingleStack' && ips(spec).length === 2) errors.push({ type: 'Invalid', field: 'spec.ipFamilyPolicy', value: policy, detail: "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified" });
  const fams = families(spec);
  if (policy === 'SingleStack' && fams.length === 2) errors.push({ type: 'Invalid', field: 'spec.ipFamilyPolicy', value: policy, detail: "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified" });
  ips(spec).forEach((ip, i) => {
    if (ip === 'None' || i < fams.length) return;
    const parsed = parseIP(ip);
    if (!parsed) return; // validation reports it
    if (!zoneFamilies.includes(parsed.family)) errors.push({ type: 'Invalid', field: `spec.clusterIPs[${i}]`, value: ips(spec), detail: `${parsed.family} is not configured on this cluster` });
    else fams.push(parsed.family);
  });
  if (errors.length) return errors;
  if (isHeadless(spec) && !hasSelector(spec)) {
    if (fams.length === 0) fams.push(defaultFamily);
    if (fams.length < 2 && policy !== 'SingleStack') fams.push(otherFamily(fams[0]!));
    spec.ipFamilies = fams;
    return [];
  }
  if (policy === 'RequireDualStack' && zoneFamilies.length < 2) errors.push({ type: 'Invalid', field: 'spec.ipFamilyPolicy', value: policy, detail: 'this cluster is not configured for dual-stack services' });
  fams.forEach((f, i) => {
    if (!zoneFamilies.includes(f as IPFamily)) errors.push({ type: 'Invalid', field: `spec.ipFamilies[${i}]`, value: f, detail: 'not configured on this cluster' });
  });
  if (errors.length) return errors;
  if (fams.length === 0) fams.push(defaultFamily);
  if (policy !== 'SingleStack' && fams.length === 1 && zoneFamilies.length === 2) fams.push(otherFamily(fams[0]!));
  spec.ipFamilies = fams;
  return [];
}

/** validateClusterIPUpdate refuses a change of an allocated cluster IP, as ValidateServiceUpdate does. */
export function validateClusterIPUpdate(svc: Obj, old: Obj): FieldError[] {
  const spec = specOf(svc);
  const o = specOf(old);
  if (!needsClusterIP(spec) || !needsClusterIP(o)) return [];
  if (isHeadless(spec) && isHeadless(o)) return [];
  const now = ips(spec);
  const was = ips(o);
  const errors: FieldError[] = [];
  const changed = (i: number) => ({ type: 'Invalid' as const, field: `spec.clusterIPs[${i}]`, value: now, detail: 'may not change once set' });
  if (was.length === now.length) {
    was.forEach((ip, i) => {
      if (ip !== now[i]) errors.push(changed(i));
    });
  } else if (was.length > now.length) {
    if (now.length === 0) errors.push({ type: 'Invalid', field: 'spec.clusterIPs[0]', value: now, detail: 'primary clusterIP can not be unset' });
    else if (now[0] !== was[0]) errors.push(changed(0));
    if (now.length === 1 && spec.ipFamilyPolicy !== 'SingleStack') {
      errors.push({ type: 'Invalid', field: 'spec.ipFamilyPolicy', value: spec.ipFamilyPolicy ?? null, detail: "must be set to 'SingleStack' when releasing the secondary clusterIP" });
    }
  } else if (was.length > 0 && now[0] !== was[0]) {
    errors.push(changed(0));
  }
  return errors;
}

/**
 * allocateService gives a Service the cluster IPs (one per IP family) and node ports it asks
 * for or needs, refusing requested ones that are taken or out of range with the allocators'
 * words. On update only what is new is checked: what the Service already holds stays its own.
 */
export function allocateService(svc: Obj, old: Obj | undefined, ctx: ServiceContext): Result<void, StrategyError> {
  const spec = specOf(svc);
  const o = old ? specOf(old) : undefined;
  if (needsClusterIP(spec) && !isHeadless(spec)) {
    const fams = families(spec);
    const list = ips(spec);
    const oldIPs = o && needsClusterIP(o) ? ips(o) : [];
    for (const [i, family] of fams.entries()) {
      const want = list[i];
      if (want && oldIPs.includes(want)) continue; // already this Service's
      if (want) {
        const r = checkIP(want, ctx.cidrs, (ip) => ctx.index.ipTaken(ip, ctx.owner));
        if (!r.ok) return fail({ kind: 'invalid', errors: [{ type: 'Invalid', field: 'spec.clusterIPs', value: list, detail: `failed to allocate IP ${want}: ${r.error}` }] });
        list[i] = r.value;
        continue;
      }
      const cidr = ctx.cidrs.find((c) => c.family === family);
      const ip = cidr && allocateIP(cidr, (x) => ctx.index.ipTaken(x, ctx.owner) || list.includes(x), ctx.random, ctx.reserved);
      if (!ip) return fail({ kind: 'internal', message: `failed to allocate a serviceIP: ${RANGE_FULL}` });
      list[i] = ip;
    }
    if (fams.length) {
      spec.clusterIPs = list.slice(0, Math.max(fams.length, 1));
      spec.clusterIP = list[0];
    }
  }
  if (!needsNodePort(spec) && !needsHealthCheck(spec)) return ok(undefined);
  const oldPorts = new Set(o ? [...ports(o).map((p) => p.nodePort), o.healthCheckNodePort].filter((n): n is number => typeof n === 'number' && n > 0) : []);
  const mine = new Set<number>();
  const taken = (p: number) => mine.has(p) || ctx.index.portTaken(p, ctx.owner);
  const request = (p: number, field: string, value: number): StrategyError | undefined => {
    if (oldPorts.has(p) || mine.has(p)) return undefined;
    const why = checkPort(p, ctx.nodePortRange, taken);
    if (why) return { kind: 'invalid', errors: [{ type: 'Invalid', field, value, detail: why }] };
    mine.add(p);
    return undefined;
  };
  if (needsNodePort(spec)) {
    const allocate = typeOf(spec) === 'NodePort' || spec.allocateLoadBalancerNodePorts !== false;
    const byPort = new Map<unknown, number>();
    for (const [i, p] of ports(spec).entries()) {
      const given = typeof p.nodePort === 'number' && p.nodePort > 0 ? p.nodePort : undefined;
      if (given !== undefined) {
        const err = request(given, `spec.ports[${i}].nodePort`, given);
        if (err) return fail(err);
        byPort.set(p.port, given);
        continue;
      }
      if (!allocate) continue;
      // The same port number (TCP and UDP, say) shares one node port, as in Kubernetes.
      const same = byPort.get(p.port);
      const np = same ?? allocatePort(ctx.nodePortRange, taken, ctx.random);
      if (np === null) return fail({ kind: 'internal', message: `failed to allocate a nodePort: ${RANGE_FULL}` });
      mine.add(np);
      byPort.set(p.port, np);
      p.nodePort = np;
    }
  }
  if (needsHealthCheck(spec)) {
    const given = typeof spec.healthCheckNodePort === 'number' && spec.healthCheckNodePort > 0 ? spec.healthCheckNodePort : undefined;
    if (given !== undefined) {
      const err = request(given, 'spec.healthCheckNodePort', given);
      if (err) return fail(err);
    } else {
      const np = allocatePort(ctx.nodePortRange, taken, ctx.random);
      if (np === null) return fail({ kind: 'internal', message: `failed to allocate a HealthCheck NodePort: ${RANGE_FULL}` });
      spec.healthCheckNodePort = np;
    }
  }
  return ok(undefined);
}

/**
 * presentService shows a stored Service as the API server would hold it: defaults filled and
 * ipFamilies inferred, for objects written by hand that never went through the API.
 */
export function presentService(svc: Obj, zoneFamilies: readonly IPFamily[]): void {
  normalizeClusterIPs(svc);
  defaultService(svc);
  initIPFamilyFields(svc, undefined, zoneFamilies);
}
