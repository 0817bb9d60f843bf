import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { parseTokenFile } from '../api/auth.js';
import { SvcdnsError } from '../errors.js';
import { helpText, parseFlags, type Flags } from './args.js';

/** Flags of `svcdns kubeconfig`; --token-file and --tls-cert-file are serve's own, so one SVCDNS_* setting serves both. */
export const KUBECONFIG_FLAGS = {
  server: { type: 'string', arg: 'URL', help: 'the API address (default http://127.0.0.1:8080, or https:// with --token-file or --tls-cert-file)' },
  'token-file': { type: 'string', arg: 'FILE', help: "serve's token file: its first token goes into the kubeconfig" },
  'tls-cert-file': { type: 'string', arg: 'FILE', help: "serve's certificate, trusted as the cluster's CA (certificate-authority-data)" },
  'insecure-skip-tls-verify': { type: 'boolean', default: false, help: "don't check the server's certificate (no --tls-cert-file at hand)" },
  namespace: { type: 'string', short: 'n', arg: 'NS', default: 'default', help: "the context's default namespace" },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
} satisfies Flags;

/** KubeconfigInput is what a kubeconfig for svcdns needs. */
export interface KubeconfigInput {
  server: string;
  token?: string;
  /** PEM certificate to trust as the cluster's CA. */
  ca?: string;
  insecureSkipTlsVerify?: boolean;
  namespace: string;
}

/**
 * renderKubeconfig writes a kubeconfig with one cluster, user and context, all named svcdns, as
 * `kubectl config view --raw` would print it.
 */
export function renderKubeconfig(i: KubeconfigInput): string {
  const cluster: Record<string, unknown> = { server: i.server };
  if (i.ca) cluster['certificate-authority-data'] = Buffer.from(i.ca).toString('base64');
  if (i.insecureSkipTlsVerify) cluster['insecure-skip-tls-verify'] = true;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'svcdns', cluster }],
    users: [{ name: 'svcdns', user: i.token ? { token: i.token } : {} }],
    contexts: [{ name: 'svcdns', context: { cluster: 'svcdns', user: 'svcdns', namespace: i.namespace } }],
    'current-context': 'svcdns',
    preferences: {},
  });
}

function read(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new SvcdnsError('ERR_CONFIG', `--${flag} ${file}: ${(err as Error).message}`);
  }
}

/** kubeconfigCommand runs `svcdns kubeconfig`: print a kubeconfig for a running `svcdns serve`. */
export async function kubeconfigCommand(argv: string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream): Promise<number> {
  const { values } = parseFlags(argv, env, KUBECONFIG_FLAGS);
  if (values.help) {
    out.write(
      helpText(
        'svcdns kubeconfig [options] > kubeconfig',
        'Print a kubeconfig for the registry API of svcdns serve, so that KUBECONFIG=kubeconfig kubectl apply -f svc.yaml just works.',
        KUBECONFIG_FLAGS,
      ),
    );
    return 0;
  }
  const token = values['token-file'] ? parseTokenFile(read('token-file', values['token-file']))[0] : undefined;
  if (values['token-file'] && !token) throw new SvcdnsError('ERR_CONFIG', `--token-file ${values['token-file']} holds no token`);
  const ca = values['tls-cert-file'] ? read('tls-cert-file', values['tls-cert-file']) : undefined;
  const secure = token !== undefined || ca !== undefined || values['insecure-skip-tls-verify'];
  const server = values.server ?? `${secure ? 'https' : 'http'}://127.0.0.1:8080`;
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new SvcdnsError('ERR_CONFIG', `--server ${server}: expected a URL such as https://127.0.0.1:8080`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new SvcdnsError('ERR_CONFIG', `--server ${server}: expected http:// or https://`);
  // client-go sends credentials only to https servers (clientcmd: IsConfigTransportTLS).
  if (token && url.protocol === 'http:') {
    throw new SvcdnsError('ERR_CONFIG', `--server ${server}: kubectl sends a token only over https; serve with --tls-cert-file and --tls-key-file and use https://`);
  }
  out.write(renderKubeconfig({ server: url.href.replace(/\/$/, ''), ...(token ? { token } : {}), ...(ca ? { ca } : {}), insecureSkipTlsVerify: values['insecure-skip-tls-verify'], namespace: values.namespace }));
  return 0;
}
