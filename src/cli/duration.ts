import { SvcdnsError } from '../errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * parseDuration reads a duration flag as Go and CoreDNS write them ("5s", "500ms", "1.5s", "2m",
 * "1m30s") into milliseconds; "0" is zero. Anything else is ERR_CONFIG naming the flag.
 */
export function parseDuration(flag: string, value: string, { max = 86_400_000 }: { max?: number } = {}): number {
  const v = value.trim();
  if (v === '0') return 0;
  let ms = 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let at = 0;
  for (let m = re.exec(v); m; m = re.exec(v)) {
    ms += Number(m[1]) * UNITS[m[2]!]!;
    at = re.lastIndex;
  }
  if (at === 0 || at !== v.length || !Number.isFinite(ms) || ms > max) {
    throw new SvcdnsError('ERR_CONFIG', `--${flag} ${value}: expected a duration such as 5s, 500ms or 1m30s${ms > max ? ` (at most ${max / 1000}s)` : ''}`);
  }
  return Math.round(ms);
}

/** parseCount reads a non-negative integer flag (a rate, a connection count) up to `max`. */
export function parseCount(flag: string, value: string, { min = 0, max = 1_000_000_000 }: { min?: number; max?: number } = {}): number {
  const n = /^\d{1,10}$/.test(value.trim()) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw new SvcdnsError('ERR_CONFIG', `--${flag} ${value}: expected a whole number from ${min} to ${max}`);
  return n;
}
