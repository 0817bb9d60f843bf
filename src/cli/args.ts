import { parseArgs } from 'node:util';
import { SvcdnsError } from '../errors.js';

/** FlagSpec describes one command-line flag; every flag can also come from SVCDNS_<FLAG>. */
export interface FlagSpec {
  type: 'string' | 'boolean';
  help: string;
  /** Placeholder shown in help, e.g. HOST:PORT. */
  arg?: string;
  default?: string | boolean;
  multiple?: boolean;
  short?: string;
}

/** Flags is a command's flag table. */
export type Flags = Record<string, FlagSpec>;

/** FlagValues are parsed flags: strings, booleans, or string lists for repeatable flags. */
export type FlagValues<F extends Flags> = {
  [K in keyof F]: F[K]['multiple'] extends true ? string[] : F[K]['type'] extends 'boolean' ? boolean : F[K]['default'] extends string ? string : string | undefined;
};

/** envName gives the environment variable of a flag: --log-level is SVCDNS_LOG_LEVEL. */
export function envName(flag: string): string {
  return `SVCDNS_${flag.replace(/-/g, '_').toUpperCase()}`;
}

/**
 * parseFlags reads argv for one command. Precedence: the command line, then SVCDNS_* variables,
 * then defaults. Unknown flags and bad values are ERR_CONFIG errors naming the flag.
 */
export function parseFlags<F extends Flags>(argv: string[], env: NodeJS.ProcessEnv, flags: F): { values: FlagValues<F>; positionals: string[] } {
  const options = Object.fromEntries(
    Object.entries(flags).map(([name, s]) => [name, { type: s.type, ...(s.multiple ? { multiple: true } : {}), ...(s.short ? { short: s.short } : {}) }]),
  );
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true, allowNegative: true });
  } catch (err) {
    throw new SvcdnsError('ERR_CONFIG', `${(err as Error).message.replace(/\. To specify a positional.*$/s, '')}; see --help`);
  }
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(flags)) {
    const given = (parsed.values as Record<string, unknown>)[name];
    if (given !== undefined) {
      values[name] = given;
      continue;
    }
    const fromEnv = env[envName(name)];
    if (fromEnv !== undefined && fromEnv !== '') values[name] = fromEnvValue(name, spec, fromEnv);
    else values[name] = spec.multiple ? (spec.default !== undefined ? [spec.default] : []) : spec.default;
  }
  return { values: values as FlagValues<F>, positionals: parsed.positionals };
}

function fromEnvValue(name: string, spec: FlagSpec, raw: string): unknown {
  if (spec.type === 'boolean') {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw new SvcdnsError('ERR_CONFIG', `${envName(name)}=${raw}: expected true or false`);
  }
  return spec.multiple ? raw.split(',').map((s) => s.trim()).filter(Boolean) : raw;
}

/** parseHostPort reads HOST:PORT, [IPv6]:PORT or :PORT (host defaults to 127.0.0.1). */
export function parseHostPort(flag: string, value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new SvcdnsError('ERR_CONFIG', `--${flag} ${value}: expected HOST:PORT, e.g. 127.0.0.1:1053 or [::1]:1053`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

/** helpText renders a command's usage and flag table. */
export function helpText(usage: string, summary: string, flags: Flags): string {
  const rows = Object.entries(flags).map(([name, s]) => {
    const left = `  ${s.short ? `-${s.short}, ` : ''}--${name}${s.arg ? ` ${s.arg}` : ''}`;
    const def = s.default !== undefined && s.default !== false ? ` (default ${s.default})` : '';
    return `${left.padEnd(34)} ${s.help}${def}`;
  });
  return `Usage: ${usage}\n\n${summary}\n\nOptions (each also as SVCDNS_<OPTION>, e.g. ${envName(Object.keys(flags)[0] ?? 'zones')}):\n${rows.join('\n')}\n`;
}
