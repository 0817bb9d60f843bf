import type { Etcd3, Lease } from 'etcd3';
import type { Logger } from '../../log.js';
import { parseIP } from '../../net/ip.js';
import type { ZoneSettings } from '../../registry/settings.js';
import { fail, formatProblem, ok, type Result } from '../../result.js';
import { decorate, persistable } from '../decorate.js';
import type { KubeObject } from '../types.js';
import { createEtcdClient } from './client.js';
import { decodeObject, decodeSettings } from './decode.js';
import { KeyLayout } from './keys.js';

/** RegistrationOptions describe one instance and where it registers. */
export interface RegistrationOptions {
  urls: string[];
  prefix: string;
  zone: string;
  namespace: string;
  service: string;
  ip: string;
  port: number;
  /** The port's name; undefined: the Service's only port name, else unnamed. */
  portName?: string;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  ttlSeconds: number;
  /** The EndpointSlice's name; default <service>-<ip>-<port>, so a restarted instance replaces its own. */
  sliceName?: string;
  /** The endpoint's hostname: DNS then also answers <hostname>.<service>.<namespace>.svc.<zone>. */
  hostname?: string;
  /** Create a headless Service when there is none, instead of refusing. */
  createService: boolean;
  log: Logger;
}

/** The label Kubernetes tools read to tell who manages an EndpointSlice. */
const MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';

/**
 * Registration holds one instance's EndpointSlice in etcd under a lease: the slice lives as long
 * as the lease is kept alive (a keepalive every TTL/3). stop() revokes the lease, so the slice
 * goes at once; if the process dies, etcd deletes it when the TTL runs out, and every replica's
 * watch sees the delete. A lease lost while etcd was away (longer than the TTL) is granted again
 * and the slice written again when etcd returns.
 */
export class Registration {
  private readonly client: Etcd3;
  private readonly keys: KeyLayout;
  private readonly log: Logger;
  private lease: Lease | undefined;
  private stopping = false;
  private retry: NodeJS.Timeout | undefined;
  private portName: string | undefined;
  /** The slice's key in etcd. */
  readonly key: string;

  constructor(private readonly opts: RegistrationOptions) {
    this.client = createEtcdClient(opts.urls);
    this.keys = new KeyLayout(opts.prefix);
    this.log = opts.log.child({ module: 'register' });
    this.key = this.keys.object(opts.zone, { kind: 'EndpointSlice', namespace: opts.namespace, name: this.sliceName() });
    this.portName = opts.portName;
  }

  /** start checks the zone and the Service, then writes the slice under a new lease. */
  async start(): Promise<Result<{ key: string; lease: string }, string>> {
    const o = this.opts;
    try {
      const zone = await this.client.get(this.keys.zone(o.zone)).buffer();
      if (zone === null) return fail(`zone ${o.zone} does not exist in etcd (no key ${this.keys.zone(o.zone)}). Create it with svcdns import, or: etcdctl put ${this.keys.zone(o.zone)} '{}'`);
      const settings = decodeSettings(this.keys.zone(o.zone), o.zone, zone).settings;
      const svcKey = this.keys.object(o.zone, { kind: 'Service', namespace: o.namespace, name: o.service });
      const svc = await this.client.get(svcKey).string();
      if (svc === null) {
        if (!o.createService) {
          return fail(`Service ${o.namespace}/${o.service} does not exist in zone ${o.zone}; create it first (svcdns import, or the API), or pass --create-service to create a headless one`);
        }
        const created = await this.createService(svcKey, settings);
        if (!created.ok) return created;
      } else {
        this.checkPorts(svc);
      }
      const slice = this.slice();
      const check = decodeObject({ key: this.key, value: Buffer.from(slice), modRevision: 1, createRevision: 1, lease: '0' }, o.zone, { kind: 'EndpointSlice', namespace: o.namespace, name: this.sliceName() }, settings);
      if (!check.ok) return fail(`the EndpointSlice would be invalid: ${check.error.map((p) => formatProblem({ ...p, file: undefined })).join('; ')}`);
      const lease = await this.hold(slice);
      return ok({ key: this.key, lease });
    } catch (err) {
      return fail(`etcd: ${(err as Error).message.split('\n')[0]}`);
    }
  }

  /** stop revokes the lease: the slice is deleted at once. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retry);
    const lease = this.lease;
    this.lease = undefined;
    try {
      if (lease) await withTimeout(lease.revoke(), 3000);
      this.log.info({ key: this.key }, 'lease revoked: the endpoint is gone');
    } catch (err) {
      this.log.warn({ key: this.key, err: (err as Error).message }, `could not revoke the lease; the endpoint goes when its TTL (${this.opts.ttlSeconds}s) runs out`);
    }
    this.client.close();
  }

  private sliceName(): string {
    const o = this.opts;
    return o.sliceName ?? `${o.service}-${o.ip.replace(/[.:]/g, '-')}-${o.port}`.toLowerCase().replace(/-+/g, '-').slice(0, 253);
  }

  // The slice, as JSON: one ready endpoint, labelled with its Service's name.
  private slice(): string {
    const o = this.opts;
    const family = parseIP(o.ip)?.family ?? 'IPv4';
    const raw = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: this.sliceName(), namespace: o.namespace, labels: { 'kubernetes.io/service-name': o.service, [MANAGED_BY]: 'svcdns-register' } },
      addressType: family,
      endpoints: [{ addresses: [o.ip], conditions: { ready: true, serving: true, terminating: false }, ...(o.hostname ? { hostname: o.hostname } : {}) }],
      ports: [{ ...(this.portName ? { name: this.portName } : {}), port: o.port, protocol: o.protocol }],
    };
    return JSON.stringify(persistable(decorate(raw, o.namespace, 0)));
  }

  // Grants a lease, writes the slice under it and keeps it alive; a lost lease is granted again.
  private async hold(slice: string): Promise<string> {
    const lease = this.client.lease(this.opts.ttlSeconds);
    let held = false;
    lease.on('lost', (err) => {
      // Before the slice is written a failure is the caller's to handle (the put rejects too).
      if (!held || this.stopping || this.lease !== lease) return;
      this.lease = undefined;
      this.log.warn({ err: err.message }, 'lease lost (etcd was away longer than the TTL?): registering again');
      this.again(slice, 0);
    });
    try {
      await lease.put(this.key).value(slice).exec();
    } catch (err) {
      lease.release();
      throw err;
    }
    held = true;
    this.lease = lease;
    const id = await lease.grant();
    this.log.info({ key: this.key, lease: id, ttl: this.opts.ttlSeconds, ip: this.opts.ip, port: this.opts.port }, 'registered');
    return id;
  }

  private again(slice: string, attempt: number): void {
    if (this.stopping) return;
    this.retry = setTimeout(() => {
      this.hold(slice).catch((err: Error) => {
        this.log.debug({ err: err.message, attempt }, 'registering again failed; retrying');
        this.again(slice, attempt + 1);
      });
    }, Math.min(5000, 200 * 2 ** Math.min(attempt, 5)));
  }

  private async createService(key: string, settings: ZoneSettings): Promise<Result<void, string>> {
    const o = this.opts;
    const raw: KubeObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: o.service, namespace: o.namespace, labels: { 'app.kubernetes.io/managed-by': 'svcdns-register' } },
      spec: { clusterIP: 'None', ports: [{ ...(o.portName ? { name: o.portName } : {}), port: o.port, protocol: o.protocol, targetPort: o.port }] },
    };
    const value = JSON.stringify(persistable(decorate(raw, o.namespace, 0)));
    const check = decodeObject({ key, value: Buffer.from(value), modRevision: 1, createRevision: 1, lease: '0' }, o.zone, { kind: 'Service', namespace: o.namespace, name: o.service }, settings);
    if (!check.ok) return fail(`the Service would be invalid: ${check.error.map((p) => formatProblem({ ...p, file: undefined })).join('; ')}`);
    // Not under the lease: the Service outlives this instance and is shared with the others.
    const res = await this.client.if(key, 'Create', '==', 0).then(this.client.put(key).value(value)).commit();
    if (res.succeeded) this.log.info({ key }, 'created a headless Service');
    return ok(undefined);
  }

  // Names the slice's port after the Service's (SRV records need names that match).
  private checkPorts(svcJson: string): void {
    let ports: Array<{ name?: string; port?: number }> = [];
    try {
      const svc = JSON.parse(svcJson) as { spec?: { ports?: Array<{ name?: string; port?: number }> } };
      ports = svc.spec?.ports ?? [];
    } catch {
      return;
    }
    if (this.portName === undefined && ports.length === 1 && ports[0]?.name) this.portName = ports[0].name;
    if (this.portName !== undefined && !ports.some((p) => p.name === this.portName)) {
      this.log.warn({ service: `${this.opts.namespace}/${this.opts.service}`, portName: this.portName, ports: ports.map((p) => p.name ?? '') }, 'the Service has no port of that name: SRV answers will not list this endpoint');
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms).unref())]);
}
