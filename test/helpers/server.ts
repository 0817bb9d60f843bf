import { fileURLToPath } from 'node:url';
import { createDnsServer, type DnsServer } from '../../src/dns/server.js';
import { silentLogger } from '../../src/log.js';
import { loadZonesDir } from '../../src/registry/load.js';
import { Registry } from '../../src/registry/registry.js';
import { buildSnapshot } from '../../src/registry/snapshot.js';

/** FIXTURE_ZONES is the test registry (test/fixtures/zones). */
export const FIXTURE_ZONES = fileURLToPath(new URL('../fixtures/zones', import.meta.url));

/** SAMPLE_ZONES is the sample registry shipped in zones/. */
export const SAMPLE_ZONES = fileURLToPath(new URL('../../zones', import.meta.url));

/** loadRegistry loads a zones folder into a live registry; it fails the test on any problem. */
export async function loadRegistry(dir = FIXTURE_ZONES, serial = 1): Promise<Registry> {
  const loaded = await loadZonesDir(dir);
  if (loaded.problems.length) throw new Error(`fixture has problems: ${JSON.stringify(loaded.problems, null, 1)}`);
  const registry = new Registry();
  registry.swap(buildSnapshot(loaded.zones, serial));
  return registry;
}

/** fixtureServer builds a DNS server (not listening) over a zones folder. */
export async function fixtureServer(dir = FIXTURE_ZONES): Promise<DnsServer> {
  return createDnsServer({ registry: await loadRegistry(dir), log: silentLogger() });
}
