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
 * `continuation` lists the cluster names that client asks next when it gets NXDOMAIN here. Works
 * on offsets into the key: most NXDOMAIN queries leave here without building a string.
 */
export function planAutopath(p: PlanInput): Plan {
  const { key, apexKey } = p;
  const ns = nsLabelAt(key, apexKey);
  if (ns < 0) return SHAPE;
  const base = key.slice(0, ns); // B's labels, no terminating zero
  const nsKey = key.slice(ns);
  const tail = nsKey.slice(nsKey.charCodeAt(0) + 1); // svc.<zone>
  const continuation = continuationOf(base, tail, apexKey, p.has);
  const skip = (reason: SkipReason): Plan => ({ walk: false, reason, continuation });
  if (p.dnssec) return skip('dnssec'); // a synthesised CNAME cannot be signed
  if (!p.has(nsKey)) return skip('namespace');
  const lastB = lastLabelAt(base);
  if (lastB === 0) return skip('single-label');
  if (p.has(base.slice(lastB) + nsKey)) return skip('endpoint-name');
  if (p.isContinuation(key)) return skip('continuation');
  const suffixes: string[] = [];
  for (const s of [tail, apexKey, ...p.hostSearch]) {
    if (s !== nsKey && !suffixes.includes(s) && suffixes.length < MAX_SEARCH - 1) suffixes.push(s);
  }
  const candidates = [...suffixes.map((s) => base + s), `${base}\0`];
  if (candidates.some((c) => c.length > 255)) return skip('too-long');
  return { walk: true, baseLen: base.length, candidates, continuation };
}

const SHAPE: Plan = { walk: false, reason: 'shape' };

// Offset of the namespace label N in `<B>.<N>.svc.<zone>` (B at least one label), or -1.
function nsLabelAt(key: string, apexKey: string): number {
  const end = key.length - apexKey.length - SVC.length;
  if (end <= 0 || !key.endsWith(apexKey) || !key.startsWith(SVC, end)) return -1;
  let last = -1;
  let count = 0;
  for (let i = 0; i < end; i += key.charCodeAt(i) + 1) {
    last = i;
    count++;
  }
  return count >= 2 ? last : -1;
}

// Offset of the last label of a run of labels (0 when there is one label).
function lastLabelAt(run: string): number {
  let last = 0;
  for (let i = 0; i < run.length; i += run.charCodeAt(i) + 1) last = i;
  return last;
}

// What a client with kubelet's list asks after NXDOMAIN here: <B>.svc.<zone>, then <B>.<zone>;
// kept only when autopath could walk them (two labels or more before an existing namespace).
function continuationOf(base: string, tail: string, apexKey: string, has: (key: string) => boolean): string[] {
  const out: string[] = [];
  let labels = 0;
  for (let i = 0; i < base.length && labels < 3; i += base.charCodeAt(i) + 1) labels++;
  if (labels < 3) return out; // neither name can have two labels before a namespace
  for (const k of [base + tail, base + apexKey]) {
    const ns = nsLabelAt(k, apexKey);
    if (ns > 0 && lastLabelAt(k.slice(0, ns)) > 0 && has(k.slice(ns))) out.push(k);
  }
  return out;
}
