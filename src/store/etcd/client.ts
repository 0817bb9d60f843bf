import { ExponentialBackoff, handleWhen, noop, retry } from 'cockatiel';
import { Etcd3, isRecoverableError } from 'etcd3';
import { fail, ok, type Result } from '../../result.js';

/** EtcdClientOptions tune how svcdns talks to etcd. */
export interface EtcdClientOptions {
  /** Deadline of each unary call (range, txn, lease grant...), so a hung etcd cannot hang a write. */
  callTimeoutMs?: number;
  /** Longest pause between two attempts to re-open a broken watch stream. */
  watchRetryMaxMs?: number;
}

/**
 * parseEtcdUrls reads `--etcd URL[,URL…]`: http:// or https:// endpoints of one etcd cluster (the
 * client spreads calls over them and fails over). TLS uses the system's CAs.
 */
export function parseEtcdUrls(value: string): Result<string[], string> {
  const urls = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (urls.length === 0) return fail('expected one or more etcd client URLs, e.g. http://127.0.0.1:2379');
  for (const u of urls) {
    const which = urls.length > 1 ? `${u}: ` : ''; // the caller names the flag's value already
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      return fail(`${which}not a URL; expected e.g. http://127.0.0.1:2379`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return fail(`${which}expected an http:// or https:// etcd client URL, e.g. http://127.0.0.1:2379`);
    if (!parsed.port || (parsed.pathname !== '/' && parsed.pathname !== '')) return fail(`${which}expected scheme://host:port and nothing more, e.g. http://127.0.0.1:2379`);
  }
  return ok(urls);
}

/**
 * createEtcdClient opens a client (connections are made lazily, on the first call). The etcd3
 * defaults do not suit a replica that must converge quickly after an outage: their per-host
 * circuit breaker stays open for 5 s after three failures (and the watch's own retries keep
 * tripping it), and a broken watch waits up to 30 s between attempts. Here: no breaker, two
 * quick retries per call, a deadline per call, watch retries capped at a few seconds, and gRPC
 * keepalive pings so that a silent network partition is noticed, not only a refused connection.
 */
export function createEtcdClient(urls: string[], { callTimeoutMs = 5000, watchRetryMaxMs = 2000 }: EtcdClientOptions = {}): Etcd3 {
  return new Etcd3({
    hosts: urls,
    dialTimeout: callTimeoutMs,
    grpcOptions: {
      'grpc.keepalive_time_ms': 10_000, // etcd refuses pings more often than every 5 s (--grpc-keepalive-min-time)
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
      // gRPC's own reconnection backoff grows to 120 s: after a long outage a replica would
      // wait minutes to notice etcd is back. Keep it short (a reconnection costs little).
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': watchRetryMaxMs,
      'grpc.max_receive_message_length': 64 * 1024 * 1024, // list pages stay far below; a single huge value must not kill the list
    },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    faultHandling: {
      host: () => noop,
      global: retry(handleWhen(isRecoverableError), { maxAttempts: 2, backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 500 }) }),
      // etcd3 types this as IBackoff but calls next() on it: it wants the factory.
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: watchRetryMaxMs }) as unknown as NonNullable<NonNullable<ConstructorParameters<typeof Etcd3>[0]>['faultHandling']>['watchBackoff'],
    },
  });
}
