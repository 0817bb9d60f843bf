import { buildSnapshot, nextSerial } from '../registry/snapshot.js';
import { formatProblem } from '../result.js';
import { helpText, parseFlags, type Flags } from './args.js';
import { REGISTRY_FLAGS, loadRegistryInputs, registrySource } from './registry-input.js';

/** Flags of `svcdns check`. */
export const CHECK_FLAGS = {
  ...REGISTRY_FLAGS,
  help: { type: 'boolean', short: 'h', help: 'show this help' },
} satisfies Flags;

/** checkCommand validates a registry and lists every problem as file:line: message; exit 1 when any. */
export async function checkCommand(argv: string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream): Promise<number> {
  const { values } = parseFlags(argv, env, CHECK_FLAGS);
  if (values.help) {
    out.write(helpText('svcdns check [--zones DIR | -f PATH... [--domain D]]', 'Validate the registry without serving it. Exits 1 and lists every problem when there is one.', CHECK_FLAGS));
    return 0;
  }
  const loaded = await loadRegistryInputs(registrySource(argv, values));
  for (const p of loaded.problems) out.write(`${formatProblem(p)}\n`);
  if (loaded.problems.length) {
    const files = new Set(loaded.problems.map((p) => p.file)).size;
    out.write(`${loaded.problems.length} problem${loaded.problems.length === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}\n`);
    return 1;
  }
  const snap = buildSnapshot(loaded.zones, nextSerial());
  const zones = loaded.zones.map((z) => z.settings.domain).join(', ');
  out.write(`OK: ${zones}: ${snap.counts.services} services, ${snap.counts.endpointSlices} endpoint slices, ${snap.counts.endpoints} endpoints objects, ${snap.counts.names} DNS names\n`);
  return 0;
}
