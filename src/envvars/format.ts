/**
 * The three output forms of an env file. `env` is the one form that docker --env-file, compose
 * env_file, systemd EnvironmentFile, dotenv and Node's util.parseEnv all read the same: KEY=value,
 * no quotes, no spaces, no comments, LF line ends.
 */

/** The formats `svcdns env` and GET /env/<namespace> can write. */
export const ENV_FORMATS = ['env', 'shell', 'json'] as const;

/** EnvFormat is one of ENV_FORMATS. */
export type EnvFormat = (typeof ENV_FORMATS)[number];

/** parseEnvFormat checks a format name; null when it is not one. */
export function parseEnvFormat(v: string): EnvFormat | null {
  return ENV_FORMATS.find((f) => f === v) ?? null;
}

// Every value we write is an IP address, a port number, a protocol or a URL made of them: a
// character outside this set would mean a bug upstream, and unquoted it could break a reader.
const PLAIN = /^[A-Za-z0-9_.:/[\]-]*$/;
const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** sortedEntries orders variables by name in byte order (as `LC_ALL=C sort` does). */
export function sortedEntries(vars: ReadonlyMap<string, string>): Array<[string, string]> {
  return [...vars].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** shellQuote wraps a value in single quotes, the POSIX form with no expansions inside. */
export function shellQuote(v: string): string {
  return `'${v.replace(/'/g, `'\\''`)}'`;
}

/** formatVariables writes variables in one of the formats, sorted by name, each line ending in LF. */
export function formatVariables(vars: ReadonlyMap<string, string>, format: EnvFormat): string {
  const entries = sortedEntries(vars);
  for (const [k, v] of entries) {
    if (!KEY.test(k) || !PLAIN.test(v)) throw new Error(`bug: variable ${JSON.stringify(k)}=${JSON.stringify(v)} cannot be written unquoted`);
  }
  if (format === 'json') return `${JSON.stringify(Object.fromEntries(entries), null, 2)}\n`;
  const line = format === 'shell' ? ([k, v]: [string, string]) => `export ${k}=${shellQuote(v)}\n` : ([k, v]: [string, string]) => `${k}=${v}\n`;
  return entries.map(line).join('');
}
