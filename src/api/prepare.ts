import type { ZoneSettings } from '../registry/settings.js';
import { fail, ok, type Result } from '../result.js';
import { AllocationIndex } from './allocate.js';
import { isRecord, stringMap, type Obj } from './json.js';
import type { ResourceDef } from './resources.js';
import {
  allocateService,
  defaultService,
  dropTypeDependentFields,
  initIPFamilyFields,
  normalizeClusterIPs,
  patchAllocatedValues,
  validateClusterIPUpdate,
} from './services.js';
import { internalError, invalid, type FieldError, type Status } from './status.js';
import { validateImmutable, validateObject } from './validate.js';
import { defaultSlice, NAMESPACE_NAME_LABEL } from './views.js';

/** PrepareContext is what turning a request into a storable object needs. */
export interface PrepareContext {
  settings: ZoneSettings;
  index: AllocationIndex;
  random: () => number;
}

/** Metadata fields only the server sets; a client's values are dropped (uid, creationTimestamp) or kept from the old object. */
const SERVER_META = ['uid', 'creationTimestamp', 'resourceVersion', 'generation', 'managedFields', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds'];

/**
 * prepareObject turns a request body into the object to store, as the API server's strategies do:
 * server-set metadata (kept from the old object on update), defaults, the kind's update rules
 * (immutable cluster IPs, allocated values carried over), validation with the registry's own
 * rules, and allocation of cluster IPs and node ports. Failures are 422 Invalid (500 when a range
 * is full). `old` is the current object as the API shows it, absent on create.
 */
export function prepareObject(def: ResourceDef, obj: Obj, old: Obj | undefined, namespace: string, ctx: PrepareContext): Result<Obj, Status> {
  const meta = isRecord(obj.metadata) ? { ...obj.metadata } : {};
  const name = String(meta.name ?? '');
  for (const f of SERVER_META) delete meta[f];
  if (old && isRecord(old.metadata)) {
    if (old.metadata.uid !== undefined) meta.uid = old.metadata.uid;
    if (old.metadata.creationTimestamp !== undefined) meta.creationTimestamp = old.metadata.creationTimestamp;
  }
  if (def.namespaced) meta.namespace = namespace;
  else delete meta.namespace;
  obj.metadata = meta;
  obj.apiVersion = def.apiVersion;
  obj.kind = def.kind;
  const errors: FieldError[] = [];
  if (def.kind === 'Service') {
    // Status belongs to the status subresource: a create starts empty, an update keeps the old one.
    obj.status = old && isRecord(old.status) ? old.status : { loadBalancer: {} };
    defaultService(obj);
    normalizeClusterIPs(obj, old);
    if (old) {
      dropTypeDependentFields(obj, old);
      patchAllocatedValues(obj, old);
    }
    errors.push(...initIPFamilyFields(obj, old, AllocationIndex.families(ctx.settings.serviceCIDRs)));
    if (old) errors.push(...validateClusterIPUpdate(obj, old));
  } else if (def.kind === 'EndpointSlice') {
    defaultSlice(obj);
    if (old) errors.push(...validateImmutable('addressType', obj.addressType, old.addressType));
  } else if (def.kind === 'Namespace') {
    meta.labels = { ...stringMap(meta.labels), [NAMESPACE_NAME_LABEL]: name };
    delete obj.status; // always Active: shown, never stored
  }
  errors.push(...validateObject(obj));
  if (errors.length) return fail(invalid(def, name, errors));
  if (def.kind === 'Service') {
    const owner = `${namespace}/${name}`;
    const reserved = new Set([ctx.settings.dnsServiceIP]);
    const r = allocateService(obj, old, { cidrs: ctx.settings.serviceCIDRs, nodePortRange: ctx.settings.nodePortRange, index: ctx.index, owner, random: ctx.random, reserved });
    if (!r.ok) return fail(r.error.kind === 'invalid' ? invalid(def, name, r.error.errors) : internalError(r.error.message));
  }
  return ok(obj);
}
