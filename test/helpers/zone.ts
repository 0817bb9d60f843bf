import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { collectContent, joinZone, type ZoneView } from '../../src/registry/content.js';
import { defaultSettings } from '../../src/registry/settings.js';
import { parseRegistryFile } from '../../src/registry/sources/files.js';

/** ENVVARS_FIXTURE is the env-var fixture (a copy of the shared conformance services.yaml). */
export const ENVVARS_FIXTURE = fileURLToPath(new URL('../fixtures/envvars/services.yaml', import.meta.url));

/** zoneFromYaml builds a zone view from registry YAML; it fails the test on any problem. */
export function zoneFromYaml(text: string, domain = 'cluster.local'): ZoneView {
  const settings = defaultSettings(domain);
  const file = parseRegistryFile('test.yaml', text, { nodePortRange: settings.nodePortRange });
  const { content, problems } = collectContent(file.objects.map((o) => o.model));
  const all = [...file.problems, ...problems];
  if (all.length) throw new Error(`fixture has problems: ${JSON.stringify(all, null, 1)}`);
  return joinZone(settings, content);
}

/** fixtureZone is the zone of ENVVARS_FIXTURE. */
export function fixtureZone(): ZoneView {
  return zoneFromYaml(readFileSync(ENVVARS_FIXTURE, 'utf8'));
}

/** svc writes a v1 Service manifest (one YAML document) for tables. */
export function svc(ns: string, name: string, spec: Record<string, unknown>): string {
  return `---\n${JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec })}\n`;
}
