import { isIPv4, isIPv6 } from 'node:net';

/** UpstreamAddress is where an upstream resolver listens. */
export interface UpstreamAddress {
  host: string;
  port: number;
  family: 4 | 6;
  /** "127.0.0.1:53" or "[::1]:53", for logs and stats. */
  label: string;
}

/** upstreamAddress builds an address from a host (an IP, IPv6 possibly with %zone) and a port. */
export function upstreamAddress(host: string, port = 53): UpstreamAddress | null {
  const bare = host.replace(/%[\w.-]+$/, '');
  if (isIPv4(host)) return { host, port, family: 4, label: `${host}:${port}` };
  if (isIPv6(bare)) return { host, port, family: 6, label: `[${host}]:${port}` };
  return null;
}

/**
 * parseUpstream reads HOST[:PORT] as `--upstream` and `--forward` take it: 192.0.2.1,
 * 192.0.2.1:5353, [2001:db8::1]:53 or 2001:db8::1. Names are refused: resolving them would need
 * the very resolver being configured.
 */
export function parseUpstream(text: string): UpstreamAddress | null {
  const t = text.trim();
  const bracket = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(t);
  if (bracket) return withPort(bracket[1]!, bracket[2]);
  const v4 = /^([\d.]+)(?::(\d{1,5}))?$/.exec(t);
  if (v4) return withPort(v4[1]!, v4[2]);
  return upstreamAddress(t);
}

function withPort(host: string, port: string | undefined): UpstreamAddress | null {
  const p = port === undefined ? 53 : Number(port);
  if (!(p >= 1 && p <= 65535)) return null;
  return upstreamAddress(host, p);
}

/** HealthOptions tune when an upstream counts as down and how it is checked. */
export interface HealthOptions {
  /** Consecutive failures that mark an upstream unhealthy (CoreDNS forward's max_fails: 2). */
  maxFails: number;
  /** How often an unhealthy upstream is checked (CoreDNS: 0.5 s). */
  intervalMs: number;
  /** check sends one health query; it resolves true when the upstream answered at all. */
  check: (up: UpstreamAddress) => Promise<boolean>;
  /** Told when an upstream goes down or comes back. */
  onChange?: (up: Upstream, healthy: boolean) => void;
}

/**
 * Upstream is one resolver with its health: after `maxFails` consecutive failures (timeouts,
 * network errors, malformed replies) it is skipped, and a timer checks it every `intervalMs`
 * until it answers again.
 */
export class Upstream {
  healthy = true;
  private fails = 0;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    readonly address: UpstreamAddress,
    private readonly health: HealthOptions,
  ) {}

  /** success records an answer (of any rcode): the upstream is reachable. */
  success(): void {
    this.fails = 0;
    if (!this.healthy) this.setHealthy(true);
  }

  /** failure records a timeout, network error or malformed reply. */
  failure(): void {
    this.fails++;
    if (this.healthy && this.fails >= this.health.maxFails) this.setHealthy(false);
  }

  /** close stops the health checks. */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private setHealthy(healthy: boolean): void {
    this.healthy = healthy;
    this.health.onChange?.(this, healthy);
    if (healthy) {
      this.close();
      return;
    }
    this.timer = setInterval(() => void this.runCheck(), this.health.intervalMs);
    this.timer.unref();
  }

  private async runCheck(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      if (await this.health.check(this.address)) this.success();
    } finally {
      this.checking = false;
    }
  }
}
