import { RCODE } from '../../types.js';

const RCODE_NAMES = new Map<number, string>(Object.entries(RCODE).map(([name, code]) => [code, name]));

/**
 * ForwardStats are the forwarder's counters, plain numbers and maps for the metrics endpoint to
 * read (issue 7). Keys are bounded: upstream labels come from the configuration, outcomes are
 * rcode names or one of timeout, network, malformed.
 */
export class ForwardStats {
  /** Queries sent, by upstream ("127.0.0.1:53"). */
  readonly requests = new Map<string, number>();
  /** What each upstream did: an rcode name (NOERROR, NXDOMAIN, SERVFAIL...) or timeout/network/malformed. */
  readonly responses = new Map<string, Map<string, number>>();
  /** Failed health checks, by upstream. */
  readonly healthcheckFailures = new Map<string, number>();
  /** SERVFAIL answered by svcdns because no upstream gave a usable answer in time. */
  servfail = 0;
  /** REFUSED: the client is not allowed recursion (--allow-recursion). */
  refusedAcl = 0;
  /** REFUSED: --max-concurrent queries were already under way. */
  refusedBusy = 0;
  /** Queries that joined an identical one already under way. */
  coalesced = 0;
  /** Answers that came over TCP because the UDP answer was truncated. */
  tcp = 0;
  /** Datagrams from an upstream that did not answer the query (wrong ID or question, malformed). */
  ignored = 0;

  /** request counts a query sent to an upstream. */
  request(upstream: string): void {
    this.requests.set(upstream, (this.requests.get(upstream) ?? 0) + 1);
  }

  /** outcome counts what an upstream did with a query. */
  outcome(upstream: string, what: number | string): void {
    const name = typeof what === 'number' ? (RCODE_NAMES.get(what) ?? `RCODE${what}`) : what;
    let m = this.responses.get(upstream);
    if (!m) this.responses.set(upstream, (m = new Map()));
    m.set(name, (m.get(name) ?? 0) + 1);
  }

  /** healthcheckFailure counts a failed health check. */
  healthcheckFailure(upstream: string): void {
    this.healthcheckFailures.set(upstream, (this.healthcheckFailures.get(upstream) ?? 0) + 1);
  }
}
