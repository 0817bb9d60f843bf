import type { Logger } from '../../../log.js';
import { rcodeReply, type Reply, type WireReply } from '../../handler.js';
import type { Query } from '../../message.js';
import { parentKey } from '../../names.js';
import { RCODE } from '../../types.js';
import { exchange, type Exchange, type ExchangeOutcome } from './exchange.js';
import { healthQuery, upstreamQuery } from './message.js';
import { ForwardStats } from './stats.js';
import { Upstream, type UpstreamAddress } from './upstream.js';

/** ForwardOptions configure a Forwarder; defaults follow CoreDNS's forward plugin where it has one. */
export interface ForwardOptions {
  /** Upstreams for every name outside the zones (empty: only stub domains are forwarded). */
  upstreams: UpstreamAddress[];
  /** Stub domains: a domain (as a key, see names.ts) and its own servers. */
  stubs?: Array<{ domainKey: string; servers: UpstreamAddress[] }>;
  /** Time from a query to SERVFAIL when no upstream answers. */
  timeoutMs?: number;
  /** Upstream queries at once; more get REFUSED (CoreDNS's max_concurrent). */
  maxConcurrent?: number;
  maxFails?: number;
  healthIntervalMs?: number;
  log: Logger;
}

/** UpstreamGroup is the servers for one domain ('\0' is the root: everything else). */
export interface UpstreamGroup {
  readonly domainKey: string;
  readonly upstreams: readonly Upstream[];
}

// RCODEs after which the next upstream is tried: the server could not or would not answer.
const TRY_NEXT = new Set<number>([RCODE.SERVFAIL, RCODE.REFUSED, RCODE.NOTIMP, RCODE.FORMERR]);

/**
 * Forwarder sends queries for names outside the zones to upstream resolvers: the first healthy
 * upstream in the configured order, then the next one when it fails or has not answered within
 * its share of the timeout (earlier ones keep listening: the first good answer wins). When every
 * upstream fails, SERVFAIL comes at the timeout, never later. Identical questions under way are
 * sent once.
 */
export class Forwarder {
  readonly stats = new ForwardStats();
  readonly root: UpstreamGroup | undefined;
  private readonly stubs = new Map<string, UpstreamGroup>();
  private readonly timeoutMs: number;
  private readonly maxConcurrent: number;
  private inFlight = 0;
  private readonly pending = new Map<string, Promise<Reply>>();
  private readonly all: Upstream[] = [];
  /** Queries under way, each with a function that ends it (SERVFAIL) when the server closes. */
  private readonly live = new Set<() => void>();
  /** Loop probes under way (probe key → upstream label), and the upstreams that sent one back. */
  readonly probes = new Map<string, string>();
  readonly looped = new Set<string>();

  constructor({ upstreams, stubs = [], timeoutMs = 2000, maxConcurrent = 1000, maxFails = 2, healthIntervalMs = 500, log }: ForwardOptions) {
    this.timeoutMs = timeoutMs;
    this.maxConcurrent = maxConcurrent;
    const fwdLog = log.child({ module: 'forward' });
    const byLabel = new Map<string, Upstream>();
    const health = {
      maxFails,
      intervalMs: healthIntervalMs,
      check: (up: UpstreamAddress) => this.healthCheck(up),
      onChange: (up: Upstream, healthy: boolean) => {
        if (healthy) fwdLog.info({ upstream: up.address.label }, 'upstream is answering again');
        else fwdLog.warn({ upstream: up.address.label, maxFails }, 'upstream is not answering; skipping it until a health check passes');
      },
    };
    // One Upstream (one health state) per address, shared by the groups that use it.
    const upstream = (a: UpstreamAddress) => {
      let u = byLabel.get(a.label);
      if (!u) {
        u = new Upstream(a, health);
        byLabel.set(a.label, u);
        this.all.push(u);
      }
      return u;
    };
    if (upstreams.length) this.root = { domainKey: '\0', upstreams: upstreams.map(upstream) };
    for (const s of stubs) this.stubs.set(s.domainKey, { domainKey: s.domainKey, upstreams: s.servers.map(upstream) });
  }

  /** groups lists the root group (when there is one) and the stub domains, for the loop check. */
  groups(): UpstreamGroup[] {
    return [...(this.root ? [this.root] : []), ...this.stubs.values()];
  }

  /** route finds the group for a name: the longest stub domain that holds it, else the root group. */
  route(key: string): UpstreamGroup | undefined {
    if (this.stubs.size) {
      for (let k: string | undefined = key; k !== undefined; k = parentKey(k)) {
        const g = this.stubs.get(k);
        if (g) return g;
      }
    }
    return this.root;
  }

  /** forward answers q from a group's upstreams; REFUSED when too many queries are under way. */
  forward(q: Query, group: UpstreamGroup): Promise<Reply> | Reply {
    const key = `${q.key}\0${q.qtype}\0${q.qclass}\0${q.ednsDo ? 1 : 0}${q.buf[3]! & 0x10 ? 1 : 0}`;
    const same = this.pending.get(key);
    if (same) {
      this.stats.coalesced++;
      return same;
    }
    if (this.inFlight >= this.maxConcurrent) {
      this.stats.refusedBusy++;
      return rcodeReply(RCODE.REFUSED);
    }
    this.inFlight++;
    const p = this.resolve(q, group).finally(() => {
      this.inFlight--;
      this.pending.delete(key);
    });
    this.pending.set(key, p);
    return p;
  }

  /** close stops the health checks and ends the queries under way with SERVFAIL. */
  close(): void {
    for (const u of this.all) u.close();
    for (const end of [...this.live]) end();
  }

  private resolve(q: Query, group: UpstreamGroup): Promise<Reply> {
    const healthy = group.upstreams.filter((u) => u.healthy);
    const order = healthy.length ? healthy : group.upstreams; // all down: try them anyway
    const query = upstreamQuery(q);
    const tryMs = Math.max(250, Math.floor(this.timeoutMs / order.length));
    return new Promise<Reply>((resolve) => {
      const running = new Map<Exchange, Upstream>();
      const slow = new Set<Upstream>();
      let next = 0;
      let done = false;
      let stagger: NodeJS.Timeout | undefined;
      const finish = (reply: Reply) => {
        if (done) return;
        done = true;
        this.live.delete(end);
        clearTimeout(deadline);
        clearTimeout(stagger);
        for (const x of running.keys()) x.cancel(); // another upstream answered first
        running.clear();
        resolve(reply);
      };
      const deadline = setTimeout(() => {
        for (const u of running.values()) {
          if (!slow.has(u)) u.failure();
          this.stats.outcome(u.address.label, 'timeout');
        }
        this.stats.servfail++;
        finish(rcodeReply(RCODE.SERVFAIL));
      }, this.timeoutMs);
      const end = () => finish(rcodeReply(RCODE.SERVFAIL));
      this.live.add(end);
      const launch = () => {
        clearTimeout(stagger);
        if (done) return;
        if (next >= order.length) {
          if (running.size === 0) {
            this.stats.servfail++;
            finish(rcodeReply(RCODE.SERVFAIL));
          }
          return;
        }
        const up = order[next++]!;
        this.stats.request(up.address.label);
        const x: Exchange = exchange(
          up.address,
          query,
          this.timeoutMs,
          (o) => {
            running.delete(x);
            this.settle(up, o, slow.has(up), finish, launch);
          },
          () => this.stats.ignored++,
        );
        running.set(x, up);
        if (next < order.length) {
          stagger = setTimeout(() => {
            slow.add(up);
            up.failure();
            launch();
          }, tryMs);
        }
      };
      launch();
    });
  }

  // One upstream's outcome: a usable answer ends the query; anything else moves on.
  private settle(up: Upstream, o: ExchangeOutcome, countedSlow: boolean, finish: (r: Reply) => void, launch: () => void): void {
    const label = up.address.label;
    if (!o.ok) {
      this.stats.outcome(label, o.reason);
      if (!countedSlow) up.failure();
      launch();
      return;
    }
    up.success();
    if (o.via === 'tcp') this.stats.tcp++;
    const rcode = o.reply.scan.rcode | ((o.reply.scan.opt?.extRcode ?? 0) << 4);
    this.stats.outcome(label, rcode);
    if (TRY_NEXT.has(rcode) || rcode > 15) {
      launch();
      return;
    }
    const reply: WireReply = { kind: 'wire', message: o.reply.message, leanLen: o.reply.leanLen };
    finish(reply);
  }

  private healthCheck(up: UpstreamAddress): Promise<boolean> {
    return new Promise((resolve) => {
      exchange(up, healthQuery(), Math.min(1000, this.timeoutMs), (o) => {
        if (!o.ok) this.stats.healthcheckFailure(up.label);
        resolve(o.ok);
      });
    });
  }
}
