import { readFileSync } from 'node:fs';
import { checkCommand } from './cli/check.js';
import { envCommand } from './cli/env.js';
import { kubeconfigCommand } from './cli/kubeconfig.js';
import { resolvConfCommand } from './cli/resolv-conf.js';
import { serveCommand } from './cli/serve.js';
import { registerCommand } from './cli/register.js';
import { exportCommand, importCommand } from './cli/transfer.js';
import { SvcdnsError } from './errors.js';

type Command = (argv: string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream, err: NodeJS.WritableStream) => Promise<number>;

/** The subcommands, in the order --help lists them. */
const COMMANDS: Record<string, { run: Command; summary: string }> = {
  serve: { run: serveCommand, summary: 'serve the registry over DNS (UDP and TCP)' },
  check: { run: checkCommand, summary: 'validate the registry; list every problem as file:line: message' },
  env: { run: envCommand, summary: "write the service environment variables kubelet gives a namespace's containers" },
  'resolv-conf': { run: resolvConfCommand, summary: "write the resolv.conf kubelet gives a pod (ClusterFirst, dnsConfig...)" },
  kubeconfig: { run: kubeconfigCommand, summary: 'print a kubeconfig for the registry API, so kubectl can manage the registry' },
  export: { run: exportCommand, summary: 'write the registry in etcd into a zones folder (one file per zone)' },
  import: { run: importCommand, summary: 'copy a zones folder into etcd (validated first; importing twice changes nothing)' },
  register: { run: registerCommand, summary: "hold this instance's endpoint in the etcd registry under a lease (gone within the TTL when it dies)" },
};

/** version reads the package version. */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return `svcdns ${version()}: Kubernetes-style service discovery over DNS, from Service and EndpointSlice YAML.

Usage: svcdns <command> [options]

Commands:
${rows.join('\n')}

Run 'svcdns <command> --help' for a command's options. Every option can also be set as
SVCDNS_<OPTION> (e.g. SVCDNS_ZONES=./zones).
`;
}

/** main runs the CLI and returns the exit status: 0 ok, 1 problems found, 2 usage or startup error. */
export async function main(argv: string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v' || name === 'version') {
    out.write(`${version()}\n`);
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out.write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    err.write(`svcdns: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest, env, out, err);
  } catch (e) {
    if (e instanceof SvcdnsError) {
      err.write(`svcdns ${name}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
