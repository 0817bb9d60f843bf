/**
 * When autopath may walk a search list for a query, decided from the query name and the
 * registry only (svcdns knows no pods, so it cannot look the client's namespace up as CoreDNS's
 * `pods verified` does). Pure functions; the README explains each condition.
 */
import { label } from '../../names.js';

const SVC = label('svc');

/** Plan is the outcome for one NXDOMAIN query of a cluster zone. */
export type Plan =
  | { walk: false; reason: 'shape' }
  | { walk: false; reason: SkipReason; continuation: string[] }
  | { walk: true; baseLen: number; candidates: string[]; continuation: string[] };

/** Why a first-expansion-shaped query is answered without a walk. */
export type SkipReason = 'dnssec' | 'namespace' | 'single-label' | 'endpoint-name' | 'too-long' | 'continuation';

/** PlanInput is what the decision needs besides the query name. */
export interface PlanInput {
  /** Lower-cased name key of the query. */
  key: string;
  /** Key of the cluster zone the name is in. */
  apexKey: string;
  /** Whether a name exists in the registry. */
  has: (key: string) => boolean;
  /** The node's search domains as keys (resolv.conf `search`), in order. */
  hostSearch: readonly string[];
  /** The query has DO or CD set. */
  dnssec: boolean;
  /** This client asked a first expansion whose next search names include this one. */
  isContinuation: (key: string) => boolean;
}

/** The longest search list a pod gets (kubelet's MaxDNSSearchPaths, glibc's limit since 2.26). */
export const MAX_SEARCH = 32;

/**
 * planAutopath reads the query as `<B>.<N>.svc.<zone>`, the first search-list expansion of a
 * name B for a pod in namespace N (kubelet's list: N.svc.<zone> svc.<zone> <zone> and the node's
 * search domains), and returns the names a client would try next, in order, ending with B itself.
 * `continuation` lists the cluster names that client asks next when it gets NXDOMAIN here.
 */
export function planAutopath(p: PlanInput): Plan {
  const { key, apexKey } = p;
  const tail = SVC + apexKey;
  if (key.length <= tail.length || !key.endsWith(tail)) return { walk: false, reason: 'shape' };
  const labels = splitLabels(key.slice(0, key.length - tail.length));
  if (labels.length < 2) return { walk: false, reason: 'shape' };
  const ns = labels[labels.length - 1]!;
  const base = labels.slice(0, -1).map(label).join('');
  const nsKey = label(ns) + tail;
  // A client with kubelet's list that gets NXDOMAIN here asks <B>.svc.<zone>, then <B>.<zone>.
  const continuation = [base + tail, base + apexKey];
  const skip = (reason: SkipReason): Plan => ({ walk: false, reason, continuation });
  if (p.dnssec) return skip('dnssec'); // a synthesised CNAME cannot be signed
  if (!p.has(nsKey)) return skip('namespace');
  if (p.isContinuation(key)) return skip('continuation');
  if (labels.length < 3) return skip('single-label');
  if (p.has(label(labels[labels.length - 2]!) + nsKey)) return skip('endpoint-name');
  const suffixes: string[] = [];
  for (const s of [tail, apexKey, ...p.hostSearch]) {
    if (s !== nsKey && !suffixes.includes(s) && suffixes.length < MAX_SEARCH - 1) suffixes.push(s);
  }
  const candidates = [...suffixes.map((s) => base + s), `${base}\0`];
  if (candidates.some((c) => c.length > 255)) return skip('too-long');
  return { walk: true, baseLen: base.length, candidates, continuation };
}

/** splitLabels splits a run of key labels (no terminating zero) into their texts. */
function splitLabels(run: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < run.length; i += run.charCodeAt(i) + 1) out.push(run.slice(i + 1, i + 1 + run.charCodeAt(i)));
  return out;
}
