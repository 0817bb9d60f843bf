import { SvcdnsError } from '../errors.js';
import { parseEtcdUrls } from '../store/etcd/client.js';
import { normalizePrefix } from '../store/etcd/keys.js';
import type { Flags } from './args.js';

/** The default etcd key prefix of the registry. */
export const DEFAULT_ETCD_PREFIX = '/svcdns';

/** Flags that say where the registry is in etcd, shared by `register`, `export` and `import`. */
export const ETCD_FLAGS = {
  etcd: { type: 'string', arg: 'URL[,URL...]', help: 'etcd client URLs (required)' },
  'etcd-prefix': { type: 'string', arg: 'PREFIX', default: DEFAULT_ETCD_PREFIX, help: 'etcd key prefix of the registry' },
} satisfies Flags;

/** EtcdTarget is a validated --etcd and --etcd-prefix. */
export interface EtcdTarget {
  urls: string[];
  prefix: string;
}

/** etcdTarget validates --etcd (required unless `optional`) and --etcd-prefix. */
export function etcdTarget(urls: string | undefined, prefix: string): EtcdTarget {
  if (urls === undefined) throw new SvcdnsError('ERR_CONFIG', '--etcd URL is required, e.g. --etcd http://127.0.0.1:2379 (or SVCDNS_ETCD)');
  const parsed = parseEtcdUrls(urls);
  if (!parsed.ok) throw new SvcdnsError('ERR_CONFIG', `--etcd ${urls}: ${parsed.error}`);
  if (!/^\/?[\w.\-/]*$/.test(prefix)) throw new SvcdnsError('ERR_CONFIG', `--etcd-prefix ${prefix}: expected a key prefix such as /svcdns (letters, digits, . _ - /)`);
  return { urls: parsed.value, prefix: normalizePrefix(prefix) };
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** logLevel validates --log-level for the etcd commands (the same levels as serve). */
export function logLevel(v: string): (typeof LEVELS)[number] {
  const level = LEVELS.find((l) => l === v);
  if (!level) throw new SvcdnsError('ERR_CONFIG', `--log-level ${v}: expected one of ${LEVELS.join(', ')}`);
  return level;
}
