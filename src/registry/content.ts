import { flat } from '../flat.js';
import type { Problem } from '../result.js';
import type { EndpointGroup, RegistryObject, Service, ZoneContent } from './model.js';
import { emptyContent } from './model.js';
import type { ZoneSettings } from './settings.js';

/** ServiceView is a Service with the endpoint groups that back it, joined once per snapshot. */
export interface ServiceView {
  service: Service;
  /** From its EndpointSlices when it has any, else from its v1 Endpoints (never both: no doubled answers). */
  groups: EndpointGroup[];
}

/** ZoneView is one cluster domain, ready to be served: settings, namespaces and joined Services. */
export interface ZoneView {
  settings: ZoneSettings;
  namespaces: ReadonlySet<string>;
  /** Sorted by namespace, then name. */
  services: ServiceView[];
}

/** objectKey names an object uniquely within a zone: kind/namespace/name. */
export function objectKey(o: RegistryObject): string {
  return flat(o.kind === 'Namespace' ? `Namespace//${o.value.name}` : `${o.kind}/${o.value.namespace}/${o.value.name}`);
}

/**
 * collectContent gathers objects into one zone's content. The first object of a kind/namespace/name
 * wins (sources come in a stable order); a later one is reported as a duplicate.
 */
export function collectContent(objects: Iterable<RegistryObject>): { content: ZoneContent; problems: Problem[] } {
  const content = emptyContent();
  const problems: Problem[] = [];
  const seen = new Map<string, RegistryObject>();
  for (const o of objects) {
    const key = objectKey(o);
    const first = seen.get(key);
    if (first) {
      const at = first.value.origin.file ? ` (first defined in ${first.value.origin.file}:${first.value.origin.line ?? 1})` : '';
      problems.push({ code: 'ERR_ZONE_DUPLICATE', file: o.value.origin.file, line: o.value.origin.line, message: `duplicate ${key.replace('//', '/')}${at}; this copy is ignored` });
      continue;
    }
    seen.set(key, o);
    if (o.kind === 'Service') content.services.push(o.value);
    else if (o.kind === 'EndpointSlice') content.slices.push(o.value);
    else if (o.kind === 'Endpoints') content.endpoints.push(o.value);
    else content.namespaces.push(o.value);
  }
  return { content, problems };
}

/**
 * joinZone links each Service to its endpoints: EndpointSlices by namespace plus the
 * kubernetes.io/service-name label (never by slice name), all slices and both families merged;
 * a v1 Endpoints object of the same name only when the Service has no slice.
 */
export function joinZone(settings: ZoneSettings, content: ZoneContent): ZoneView {
  const slicesBy = new Map<string, EndpointGroup[]>();
  for (const s of content.slices) {
    if (!s.serviceName || s.addressType === 'FQDN') continue;
    const key = `${s.namespace}/${s.serviceName}`;
    const list = slicesBy.get(key);
    if (list) list.push(s.group);
    else slicesBy.set(key, [s.group]);
  }
  const endpointsBy = new Map(content.endpoints.map((e) => [`${e.namespace}/${e.name}`, e.groups]));
  const namespaces = new Set(content.namespaces.map((n) => n.name));
  const services = [...content.services]
    .sort((a, b) => (a.namespace === b.namespace ? cmp(a.name, b.name) : cmp(a.namespace, b.namespace)))
    .map((service) => {
      namespaces.add(service.namespace);
      const key = `${service.namespace}/${service.name}`;
      return { service, groups: slicesBy.get(key) ?? endpointsBy.get(key) ?? [] };
    });
  return { settings, namespaces, services };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
