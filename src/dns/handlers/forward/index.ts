import type { Acl } from '../../../net/acl.js';
import { rcodeReply, type Handler } from '../../handler.js';
import { RCODE } from '../../types.js';
import type { Forwarder } from './forwarder.js';

export { Forwarder, type ForwardOptions } from './forwarder.js';
export { ForwardStats } from './stats.js';

/**
 * forwardHandler sends the names that reach it (outside every zone) to upstream resolvers, for
 * clients in the recursion ACL; others get REFUSED, so svcdns is never an open resolver. Names
 * no upstream group covers (`--upstream none`, outside every stub domain) go to `next`.
 */
export function forwardHandler({ forwarder, acl }: { forwarder: Forwarder; acl: Acl }): Handler {
  return function forward(q, next) {
    // Our own loop probe came back: the upstream that got it forwards to us (see loop.ts).
    if (forwarder.probes.size) {
      const looped = forwarder.probes.get(q.key);
      if (looped) {
        forwarder.looped.add(looped);
        return rcodeReply(RCODE.SERVFAIL);
      }
    }
    const group = forwarder.route(q.key);
    if (!group) return next(q);
    if (!acl.allows(q.client)) {
      forwarder.stats.refusedAcl++;
      return rcodeReply(RCODE.REFUSED);
    }
    return forwarder.forward(q, group);
  };
}
