import { readFileSync } from 'node:fs';

/** packageVersion reads the version of the installed package (for svcdns_build_info). */
export function packageVersion(): string {
  // dist/ops/ and src/ops/ are both two levels below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}
