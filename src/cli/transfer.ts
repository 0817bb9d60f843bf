import cliProgress from 'cli-progress';
import { SvcdnsError } from '../errors.js';
import { formatProblem } from '../result.js';
import { createEtcdClient } from '../store/etcd/client.js';
import { EXPORT_FILE, exportRegistry, importRegistry, type Progress } from '../store/etcd/transfer.js';
import { helpText, parseFlags, type Flags } from './args.js';
import { ETCD_FLAGS, etcdTarget } from './etcd-flags.js';

/** Flags of `svcdns export`. */
export const EXPORT_FLAGS = {
  zones: { type: 'string', arg: 'DIR', help: 'zones folder to write: <DIR>/<zone>/registry.yaml and _settings.yaml (required)' },
  ...ETCD_FLAGS,
  help: { type: 'boolean', short: 'h', help: 'show this help' },
} satisfies Flags;

/** Flags of `svcdns import`. */
export const IMPORT_FLAGS = {
  zones: { type: 'string', arg: 'DIR', help: 'zones folder to read, one sub-folder per cluster domain (required)' },
  ...ETCD_FLAGS,
  'skip-invalid': { type: 'boolean', default: false, help: 'import the valid objects when some are invalid, instead of refusing' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
} satisfies Flags;

/** exportCommand runs `svcdns export`: the registry in etcd into a zones folder. */
export async function exportCommand(argv: string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values } = parseFlags(argv, env, EXPORT_FLAGS);
  if (values.help) {
    out.write(helpText('svcdns export --zones DIR --etcd URL [--etcd-prefix P]', `Write the registry in etcd into a zones folder: one ${EXPORT_FILE} per zone with all its objects, and its _settings.yaml.`, EXPORT_FLAGS));
    return 0;
  }
  const dir = required('zones', values.zones);
  const target = etcdTarget(values.etcd, values['etcd-prefix']);
  const client = createEtcdClient(target.urls);
  const bar = progressBar(err, 'export');
  try {
    const r = await exportRegistry(client, target.prefix, dir, bar.update).catch((e: Error) => {
      throw new SvcdnsError('ERR_ETCD', `cannot read ${target.prefix}/ from etcd ${target.urls.join(',')}: ${firstLine(e)}`);
    });
    bar.stop();
    if (!r.ok) {
      for (const p of r.problems) out.write(`${formatProblem(p)}\n`);
      throw new SvcdnsError('ERR_WRITE', `nothing written: ${r.problems.length} file(s) in the way (listed above)`);
    }
    for (const p of r.summary.problems) err.write(`warning: ${formatProblem(p)}\n`);
    const s = r.summary;
    out.write(`exported ${s.objects} objects in ${s.zones.length} zone(s) (${s.zones.join(', ') || 'none'}) from etcd revision ${s.revision} to ${dir}\n`);
    return 0;
  } finally {
    bar.stop();
    client.close();
  }
}

/** importCommand runs `svcdns import`: a zones folder into etcd, validated first. */
export async function importCommand(argv: string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values } = parseFlags(argv, env, IMPORT_FLAGS);
  if (values.help) {
    out.write(
      helpText(
        'svcdns import --zones DIR --etcd URL [--etcd-prefix P] [--skip-invalid]',
        'Copy a zones folder into etcd: zones are created, objects created or updated (unchanged ones are left alone, so importing twice changes nothing). The folder is validated first: with problems nothing is written, unless --skip-invalid.',
        IMPORT_FLAGS,
      ),
    );
    return 0;
  }
  const dir = required('zones', values.zones);
  const target = etcdTarget(values.etcd, values['etcd-prefix']);
  const client = createEtcdClient(target.urls);
  const bar = progressBar(err, 'import');
  try {
    const r = await importRegistry(client, target.prefix, dir, { skipInvalid: values['skip-invalid'], progress: bar.update }).catch((e: Error) => {
      throw new SvcdnsError('ERR_ETCD', `cannot write to etcd ${target.urls.join(',')}: ${firstLine(e)}`);
    });
    bar.stop();
    if (!r.ok) {
      for (const p of r.problems) out.write(`${formatProblem(p)}\n`);
      out.write(`nothing imported: ${r.problems.length} problem(s) (fix them, or pass --skip-invalid to import the valid objects)\n`);
      return 1;
    }
    const s = r.summary;
    for (const p of s.problems) err.write(`skipped: ${formatProblem(p)}\n`);
    out.write(`imported ${s.zones.length} zone(s) (${s.zones.join(', ')}) into ${target.prefix}/: ${s.created} created, ${s.updated} updated, ${s.unchanged} unchanged${s.problems.length ? `, ${s.problems.length} problem(s) skipped` : ''}\n`);
    return 0;
  } finally {
    bar.stop();
    client.close();
  }
}

// A progress bar on a terminal; nothing when the output is a file or a pipe.
function progressBar(stream: NodeJS.WritableStream, what: string): { update: Progress; stop: () => void } {
  if (!(stream as NodeJS.WriteStream).isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar({ stream: stream as NodeJS.WriteStream, format: `${what} [{bar}] {percentage}% {value}/{total} objects`, hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
  let started = false;
  let stopped = false;
  return {
    update: (done, total) => {
      if (stopped) return;
      if (!started) {
        bar.start(total, 0);
        started = true;
      }
      bar.update(done);
    },
    stop: () => {
      if (started && !stopped) bar.stop();
      stopped = true;
    },
  };
}

function required(flag: string, v: string | undefined): string {
  if (v === undefined || v === '') throw new SvcdnsError('ERR_CONFIG', `--${flag} is required; see --help`);
  return v;
}

const firstLine = (e: Error) => e.message.split('\n')[0]!.replace(/\. Resolution note:.*$/, '');
