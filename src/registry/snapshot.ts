import { DnsTable } from '../dns/table.js';
import { joinZone, type ZoneView } from './content.js';
import type { ZoneContent } from './model.js';
import type { ZoneSettings } from './settings.js';

/** ZoneInput is one cluster domain's settings and objects, as a store provides them. */
export interface ZoneInput {
  settings: ZoneSettings;
  content: ZoneContent;
}

/**
 * Snapshot is the registry at one moment: the joined zones (for env files and the API) and the DNS
 * table with every answer prebuilt. It is never edited once built; a change builds a new one.
 */
export interface Snapshot {
  /** SOA serial: seconds since the epoch at build time, always above the previous snapshot's. */
  readonly serial: number;
  readonly zones: readonly ZoneView[];
  readonly dns: DnsTable;
  /** Counts of what the snapshot holds, for logs and metrics. */
  readonly counts: { services: number; endpointSlices: number; endpoints: number; names: number };
}

/** nextSerial gives an SOA serial that is the current time but always moves forward. */
export function nextSerial(previous = 0, now = Date.now()): number {
  return Math.max(previous + 1, Math.floor(now / 1000)) >>> 0;
}

/** buildSnapshot joins each zone's objects and prebuilds its DNS answers. */
export function buildSnapshot(inputs: readonly ZoneInput[], serial: number): Snapshot {
  const zones = inputs.map((z) => joinZone(z.settings, z.content));
  const dns = DnsTable.build(zones, serial);
  const sum = (f: (c: ZoneContent) => number) => inputs.reduce((n, z) => n + f(z.content), 0);
  return {
    serial,
    zones,
    dns,
    counts: {
      services: sum((c) => c.services.length),
      endpointSlices: sum((c) => c.slices.length),
      endpoints: sum((c) => c.endpoints.length),
      names: dns.names.size,
    },
  };
}
