import type { ZoneView } from '../registry/content.js';
import { fail, ok, type Result } from '../result.js';

/** The cluster domain kubelet and kubeadm use unless told otherwise. */
export const DEFAULT_DOMAIN = 'cluster.local';

/**
 * pickZone chooses the zone a pod lives in: the one named `domain`, else cluster.local when the
 * registry has it, else the first zone by name.
 */
export function pickZone(zones: readonly ZoneView[], domain?: string): Result<ZoneView, string> {
  const names = zones.map((z) => z.settings.domain);
  if (domain !== undefined) {
    const want = domain.toLowerCase().replace(/\.$/, '');
    const zone = zones.find((z) => z.settings.domain === want);
    return zone ? ok(zone) : fail(`no zone ${JSON.stringify(want)} in the registry (zones: ${names.join(', ') || 'none'})`);
  }
  const zone = zones.find((z) => z.settings.domain === DEFAULT_DOMAIN) ?? [...zones].sort((a, b) => (a.settings.domain < b.settings.domain ? -1 : 1))[0];
  return zone ? ok(zone) : fail('the registry holds no zone');
}
