/**
 * The registry's internal model: the few fields of Kubernetes objects that svcdns serves, converted
 * once at the edge (src/registry/sources/). Like CoreDNS's object.Service, it is deliberately small;
 * add a field only when an answer needs it.
 */

/** Port protocol; Kubernetes defaults an unset protocol to TCP. */
export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** Service type; Kubernetes defaults an unset type to ClusterIP. */
export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';

/** Origin says where an object came from, so problems and logs can point at it. */
export interface Origin {
  /** File path (for the file store) or a store-specific locator. */
  file?: string;
  /** 1-based line of the object's first line. */
  line?: number;
}

/** ServicePort is one entry of spec.ports. */
export interface ServicePort {
  /** Port name, '' when unnamed (a single-port Service may leave it out). */
  name: string;
  port: number;
  protocol: Protocol;
  /** nodePort for NodePort and LoadBalancer Services, when set. */
  nodePort?: number;
}

/** Service is a v1 Service reduced to what DNS and env files need. */
export interface Service {
  namespace: string;
  name: string;
  type: ServiceType;
  /** spec.clusterIP exactly as written: '' (not allocated), 'None' (headless) or an address. */
  clusterIP: string;
  /** Canonical cluster IPs: spec.clusterIPs, else spec.clusterIP; empty for headless and ExternalName. */
  clusterIPs: string[];
  /** clusterIP is None: DNS answers with the ready endpoints. */
  headless: boolean;
  /** For ExternalName: the target, lower-case, without a trailing dot. */
  externalName?: string;
  ports: ServicePort[];
  /** publishNotReadyAddresses, or the legacy tolerate-unready-endpoints annotation. */
  publishNotReady: boolean;
  origin: Origin;
}

/** EndpointPort is a port of an EndpointSlice or of a v1 Endpoints subset. */
export interface EndpointPort {
  name: string;
  port: number;
  protocol: Protocol;
}

/** Endpoint is one backend: its addresses and what DNS may name it by. */
export interface Endpoint {
  /** Canonical IP addresses (a slice endpoint may have several of one family). */
  addresses: string[];
  /** Explicit hostname (StatefulSet pods), when set. */
  hostname?: string;
  /** Readiness: conditions.ready (absent counts as ready), or the Endpoints list it came from. */
  ready: boolean;
  /** Pod name from targetRef when it refers to a Pod. */
  podName?: string;
}

/** EndpointGroup is endpoints that share one port list: an EndpointSlice, or an Endpoints subset. */
export interface EndpointGroup {
  ports: EndpointPort[];
  endpoints: Endpoint[];
}

/** EndpointSlice is a discovery.k8s.io/v1 EndpointSlice. */
export interface EndpointSlice {
  namespace: string;
  name: string;
  /** The kubernetes.io/service-name label: the Service the slice belongs to. */
  serviceName?: string;
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  group: EndpointGroup;
  origin: Origin;
}

/** LegacyEndpoints is a v1 Endpoints object: one group per subset. */
export interface LegacyEndpoints {
  namespace: string;
  name: string;
  groups: EndpointGroup[];
  origin: Origin;
}

/** Namespace is a v1 Namespace; a namespace also exists when any Service lives in it. */
export interface Namespace {
  name: string;
  origin: Origin;
}

/** RegistryObject is any object the registry holds. */
export type RegistryObject =
  | { kind: 'Service'; value: Service }
  | { kind: 'EndpointSlice'; value: EndpointSlice }
  | { kind: 'Endpoints'; value: LegacyEndpoints }
  | { kind: 'Namespace'; value: Namespace };

/** ZoneContent is every object of one cluster domain. */
export interface ZoneContent {
  services: Service[];
  slices: EndpointSlice[];
  endpoints: LegacyEndpoints[];
  namespaces: Namespace[];
}

/** emptyContent returns a ZoneContent with no objects. */
export function emptyContent(): ZoneContent {
  return { services: [], slices: [], endpoints: [], namespaces: [] };
}
