import { readFile } from 'node:fs/promises';
import { ENV_FORMATS, parseEnvFormat, type EnvFormat } from '../envvars/format.js';
import { renderEnv, type RenderedEnv } from '../envvars/render.js';
import { pickZone } from '../envvars/zone.js';
import { SvcdnsError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import type { ZoneView } from '../registry/content.js';
import { Fields } from '../registry/sources/fields.js';
import { formatProblem } from '../result.js';
import { helpText, parseFlags, type Flags } from './args.js';
import { REGISTRY_FLAGS, loadOrFail, loadRegistrySource, registrySource, watchPaths as registryWatchPaths, type RegistrySource } from './registry-input.js';
import { watchPaths } from './watch.js';

/** Flags of `svcdns env`. */
export const ENV_FLAGS = {
  namespace: { type: 'string', short: 'n', arg: 'NS', help: "the pod's namespace (required)" },
  ...REGISTRY_FLAGS,
  'service-links': {
    type: 'string',
    arg: 'true|false',
    default: 'true',
    help: "the pod's enableServiceLinks; false keeps only the kubernetes variables (--no-service-links is the same)",
  },
  format: { type: 'string', arg: 'FORMAT', default: 'env', help: `${ENV_FORMATS.join(', ')}: KEY=value lines, export KEY='value' lines, or one JSON object` },
  output: { type: 'string', short: 'o', arg: 'FILE', help: 'write FILE atomically (temp file, fsync, rename) instead of stdout' },
  watch: { type: 'boolean', default: false, help: 'with -o: keep running, rewrite FILE when a registry change changes it (and only then)' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
} satisfies Flags;

const USAGE = 'svcdns env --namespace NS [--zones DIR | -f PATH...] [--service-links=true|false] [--format env|shell|json] [-o FILE] [--watch]';

/** EnvRequest is a resolved `svcdns env` invocation. */
interface EnvRequest {
  namespace: string;
  serviceLinks: boolean;
  format: EnvFormat;
  domain: string | undefined;
  source: RegistrySource;
}

/** parseBoolFlag reads true/false for a string flag (util.parseArgs has no --flag=false for booleans). */
export function parseBoolFlag(flag: string, v: string): boolean {
  if (/^(true|1|yes|on)$/i.test(v)) return true;
  if (/^(false|0|no|off)$/i.test(v)) return false;
  throw new SvcdnsError('ERR_CONFIG', `--${flag}=${v}: expected true or false`);
}

/** requireNamespace checks a namespace name (a DNS-1123 label), as the API server would. */
export function requireNamespace(v: string | undefined, usage: string): string {
  if (v === undefined || v === '') throw new SvcdnsError('ERR_CONFIG', `--namespace is required; usage: ${usage}`);
  const f = new Fields();
  const ns = f.label(v, ['namespace']);
  if (ns === undefined) throw new SvcdnsError('ERR_CONFIG', `--namespace ${f.problems[0]?.message ?? 'is invalid'}`);
  return ns;
}

/** render builds the env file from zones, or says why it cannot. */
function render(zones: readonly ZoneView[], req: EnvRequest): RenderedEnv & { warningsOut: string[] } {
  const zone = pickZone(zones, req.domain);
  if (!zone.ok) throw new SvcdnsError('ERR_CONFIG', `--domain: ${zone.error}`);
  const r = renderEnv(zone.value, { namespace: req.namespace, serviceLinks: req.serviceLinks, format: req.format });
  const warningsOut = [...r.warnings];
  if (!r.namespaceExists) {
    // kubelet would still start the pod's containers with the master service's variables.
    warningsOut.unshift(`namespace "${req.namespace}" does not exist in zone ${zone.value.settings.domain}: only the kubernetes variables are written`);
  }
  return { ...r, warningsOut };
}

/** envCommand runs `svcdns env`: the variables kubelet would give a container of a namespace. */
export async function envCommand(argv: string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  // --no-service-links is --service-links=false; parseArgs negates booleans only.
  const args = argv.map((a) => (a === '--no-service-links' ? '--service-links=false' : a));
  const { values } = parseFlags(args, env, ENV_FLAGS);
  if (values.help) {
    out.write(helpText(USAGE, 'Write the service environment variables kubelet would give a container of the namespace.', ENV_FLAGS));
    return 0;
  }
  const format = parseEnvFormat(values.format);
  if (!format) throw new SvcdnsError('ERR_CONFIG', `--format ${values.format}: expected one of ${ENV_FORMATS.join(', ')}`);
  const req: EnvRequest = {
    namespace: requireNamespace(values.namespace, USAGE),
    serviceLinks: parseBoolFlag('service-links', values['service-links']),
    format,
    domain: values.domain,
    source: registrySource(args, values),
  };
  const output = values.output;
  if (values.watch && !output) throw new SvcdnsError('ERR_CONFIG', '--watch needs -o FILE: it keeps FILE up to date');
  const say = (msg: string) => err.write(`svcdns env: ${msg}\n`);

  const first = render(await loadOrFail(req.source, err), req);
  for (const w of first.warningsOut) say(`warning: ${w}`);
  if (!output) {
    out.write(first.text);
    return 0;
  }
  let onDisk = await readFile(output, 'utf8').catch(() => undefined);
  const write = async (text: string): Promise<boolean> => {
    if (text === onDisk) return false;
    try {
      await writeFileAtomic(output, text);
    } catch (e) {
      throw new SvcdnsError('ERR_WRITE', `cannot write ${output}: ${(e as Error).message}`);
    }
    onDisk = text;
    return true;
  };
  const wrote = await write(first.text);
  if (!values.watch) return 0;

  say(`${wrote ? 'wrote' : 'up to date:'} ${output} (${first.vars.size} variables); watching ${registryWatchPaths(req.source).join(', ')}`);
  let lastWarnings = first.warningsOut.join('\n');
  const reload = async (quiet = false) => {
    const loaded = await loadRegistrySource(req.source);
    if (loaded.problems.length) {
      for (const p of loaded.problems) err.write(`${formatProblem(p)}\n`);
      say(`the registry has ${loaded.problems.length} problem(s) (listed above); ${output} is kept as it was`);
      return;
    }
    const next = render(loaded.zones, req);
    const warnings = next.warningsOut.join('\n');
    if (warnings !== lastWarnings) for (const w of next.warningsOut) say(`warning: ${w}`);
    lastWarnings = warnings;
    if (await write(next.text)) say(`wrote ${output} (${next.vars.size} variables)`);
    else if (!quiet) say(`registry changed; ${output} unchanged`);
  };
  // One reload at a time: the watcher's and the catch-up pass below never interleave their writes.
  let queue: Promise<void> = Promise.resolve();
  const serialized = (quiet = false): Promise<void> => {
    const run = queue.then(() => reload(quiet));
    queue = run.catch(() => undefined);
    return run;
  };
  const watcher = await watchPaths(registryWatchPaths(req.source), () => serialized(), {
    onError: (e) => say(`error: ${e instanceof Error ? e.message : String(e)}`),
  });
  // A change made between the first load and the watch being set up is caught by one more pass.
  await serialized(true).catch((e: unknown) => say(`error: ${e instanceof Error ? e.message : String(e)}`));
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  watcher.close();
  return 0;
}
