import { randomUUID } from 'node:crypto';
import { flat } from '../flat.js';
import type { KubeObject } from './types.js';

/** Metadata fields the server sets; they are not part of what a user wrote. */
export const SERVER_FIELDS = ['uid', 'resourceVersion', 'creationTimestamp', 'generation', 'managedFields', 'selfLink'] as const;

/** kubeTime renders a time as Kubernetes does: RFC 3339 in UTC, whole seconds. */
export function kubeTime(ms = Date.now()): string {
  // Objects stored in the same second (all of a big registry at start) share one string.
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastTime = flat(new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  }
  return lastTime;
}
let lastSecond = NaN;
let lastTime = '';

/**
 * decorate returns a copy of an object with its server-set metadata: the namespace it lives in,
 * its uid and creationTimestamp (kept from `previous` when it already existed) and its
 * resourceVersion. The input is not modified.
 */
export function decorate(raw: Record<string, unknown>, namespace: string, revision: number, previous?: KubeObject): KubeObject {
  const meta = (raw.metadata && typeof raw.metadata === 'object' ? raw.metadata : {}) as Record<string, unknown>;
  const prev = previous?.metadata ?? {};
  // Object.assign, not spread: with objects of many shapes going through one spread site V8 gives
  // each copy a hidden class of its own (about 200 bytes per object, measured with 200,000).
  const metadata: Record<string, unknown> = Object.assign({}, meta);
  if (raw.kind !== 'Namespace') metadata.namespace = namespace;
  metadata.uid = str(meta.uid) ?? str(prev.uid) ?? flat(randomUUID());
  metadata.resourceVersion = String(revision);
  metadata.creationTimestamp = str(meta.creationTimestamp) ?? str(prev.creationTimestamp) ?? kubeTime();
  const out = Object.assign({}, raw) as KubeObject;
  out.metadata = metadata;
  return out;
}

/** userContent renders an object without server-set metadata, to tell whether its content changed. */
export function userContent(o: Record<string, unknown>): string {
  const meta = { ...((o.metadata ?? {}) as Record<string, unknown>) };
  for (const f of SERVER_FIELDS) delete meta[f];
  return JSON.stringify({ ...o, metadata: meta });
}

/** persistable strips what is never written to a file: resourceVersion and managedFields. */
export function persistable(o: KubeObject): KubeObject {
  const metadata = { ...o.metadata };
  delete metadata.resourceVersion;
  delete metadata.managedFields;
  delete metadata.selfLink;
  return { ...o, metadata };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
