import { DnsBuilder } from '../dns/builder.js';
import type { DnsTable } from '../dns/table.js';
import type { ZoneView } from './content.js';
import type { ZoneContent } from './model.js';
import type { ZoneSettings } from './settings.js';
import { RegistryState } from './state.js';

/** ZoneInput is one cluster domain's settings and objects, as a store provides them. */
export interface ZoneInput {
  settings: ZoneSettings;
  content: ZoneContent;
}

/**
 * Snapshot is the registry at one moment: the joined zones (for env files and the API) and the DNS
 * table with every answer prebuilt. It is never edited once built; a change builds a new one
 * (which shares what did not change with this one, see src/dns/cells.ts).
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

/** buildSnapshot joins each zone's objects and prebuilds its DNS answers (a full build). */
export function buildSnapshot(inputs: readonly ZoneInput[], serial: number): Snapshot {
  const state = RegistryState.fromContent(inputs);
  return snapshotOf(state, new DnsBuilder(state.zones, 1), serial);
}

/** snapshotOf makes the snapshot of a registry state whose DNS names a builder has brought up to date. */
export function snapshotOf(state: RegistryState, builder: DnsBuilder, serial: number): Snapshot {
  const dns = builder.table(serial);
  return { serial, zones: state.zones.map((z) => z.zoneView()), dns, counts: { ...state.counts(), names: dns.names.size } };
}
