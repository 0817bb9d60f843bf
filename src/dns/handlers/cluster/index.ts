import type { Registry } from '../../../registry/registry.js';
import { rcodeReply, type Handler } from '../../handler.js';
import { RCODE } from '../../types.js';

/**
 * clusterHandler answers names of the cluster zones and their reverse zones from the live
 * snapshot: one Map lookup, then prebuilt bytes. Other names go to the next handler.
 */
export function clusterHandler({ registry }: { registry: Registry }): Handler {
  return function cluster(q, next) {
    const snapshot = registry.current;
    // Not loaded yet: SERVFAIL rather than a wrong NXDOMAIN (CoreDNS does the same before sync).
    if (!snapshot) return rcodeReply(RCODE.SERVFAIL);
    return snapshot.dns.answerFor(q.key, q.qtype) ?? next(q);
  };
}
