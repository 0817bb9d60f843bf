import type { Prebuilt, Query } from './message.js';
import type { NegativeReply } from './table.js';

/** RcodeReply is an answer with no records: REFUSED, SERVFAIL, FORMERR... */
export interface RcodeReply {
  readonly kind: 'rcode';
  readonly rcode: number;
}

/**
 * WireReply is a complete message from elsewhere (an upstream, a cache), without an OPT record. The
 * server patches in the query's ID, RD and CD bits and question (case), appends its own OPT, and
 * counts TTLs down for answers that waited in a cache (see relay.ts).
 */
export interface WireReply {
  readonly kind: 'wire';
  readonly message: Buffer;
  /** Length of the message without its additional section (-1: none), sent when only that does not fit. */
  readonly leanLen?: number;
  /** Offsets of TTL fields to lower by `age` seconds (answers served from a cache). */
  readonly ttlAt?: readonly number[];
  readonly age?: number;
}

/** Reply is what a handler decides; the server turns it into bytes for the query's transport. */
export type Reply = Prebuilt | NegativeReply | RcodeReply | WireReply;

/** Next passes a query to the rest of the chain. */
export type Next = (q: Query) => Reply | Promise<Reply>;

/**
 * Handler either answers a query or passes it on with `next(q)`, as a CoreDNS plugin does.
 * Handlers that answer from memory return synchronously: no promise on the hot path.
 */
export type Handler = (q: Query, next: Next) => Reply | Promise<Reply>;

/** rcodeReply returns the shared reply object for an rcode (no allocation per query). */
export function rcodeReply(rcode: number): RcodeReply {
  let r = RCODE_REPLIES[rcode];
  if (!r) r = RCODE_REPLIES[rcode] = { kind: 'rcode', rcode };
  return r;
}
const RCODE_REPLIES: RcodeReply[] = [];

/** compose links handlers in order (the chain order is one array), ending in `last`. */
export function compose(handlers: readonly Handler[], last: Next): Next {
  return handlers.reduceRight<Next>((next, h) => (q) => h(q, next), last);
}
