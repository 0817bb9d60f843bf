import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { failure, type Status } from './status.js';

/** AuthConfig says who may read and write. */
export interface AuthConfig {
  /** Accepted bearer tokens (from --token-file); empty: none configured. */
  tokens: readonly string[];
  /** --insecure-allow-writes: without a token, anyone may write (and read from anywhere). */
  insecureAllowWrites: boolean;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * tokenMatches compares a presented token with each configured one in constant time: both sides
 * are hashed first, so neither the length nor the content leaks through timing.
 */
export function tokenMatches(presented: string, tokens: readonly string[]): boolean {
  const p = digest(presented);
  let match = false;
  for (const t of tokens) if (timingSafeEqual(p, digest(t))) match = true;
  return match;
}

/** isLoopback tells whether a peer address is on this machine (127.0.0.0/8, ::1, or IPv4-mapped). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.replace(/^::ffff:/i, '');
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

const HOW = 'start svcdns serve with --token-file FILE (one token per line) and send "Authorization: Bearer <token>" (svcdns kubeconfig --token-file FILE writes a kubeconfig that does), or pass --insecure-allow-writes on a trusted network';

/**
 * authorize decides a request from its headers alone, before its body is read: writes need a
 * configured token (constant-time compare); reads are open to loopback clients and need the token
 * from anywhere else. undefined: allowed.
 */
export function authorize(req: IncomingMessage, write: boolean, auth: AuthConfig): Status | undefined {
  const header = req.headers.authorization;
  const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (auth.tokens.length === 0) {
    if (auth.insecureAllowWrites) return undefined;
    if (write) return failure('Forbidden', `writes are disabled: no token is configured. To allow them, ${HOW}`);
    if (!isLoopback(req.socket.remoteAddress)) return failure('Forbidden', `reads from other machines need a token. To allow them, ${HOW}`);
    return undefined;
  }
  if (m && tokenMatches(m[1]!, auth.tokens)) return undefined;
  if (!write && !header && isLoopback(req.socket.remoteAddress)) return undefined;
  return failure('Unauthorized', header ? 'Unauthorized: the bearer token is not valid' : 'Unauthorized: send "Authorization: Bearer <token>" with a token from --token-file');
}

/** parseTokenFile reads tokens from a token file's text: one per line; blank lines and # comments are skipped. */
export function parseTokenFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(',')[0]!.trim()); // kube-apiserver's static token file: token,user,uid[,groups]
}
