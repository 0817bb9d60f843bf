import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import forge from 'node-forge';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { fail, ok, type Result } from '../result.js';

/** TlsFiles are a certificate and its private key, PEM. */
export interface TlsFiles {
  cert: string;
  key: string;
}

/**
 * selfSignedCertificate makes a self-signed server certificate (RSA-2048, SHA-256) for the names
 * and addresses a client will dial: Go's TLS client (kubectl) checks the subjectAltName, never
 * the common name. The certificate is its own CA, so a kubeconfig can trust it as
 * certificate-authority-data.
 */
export function selfSignedCertificate(hosts: readonly string[], { days = 3650, now = Date.now() } = {}): TlsFiles {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const key = forge.pki.privateKeyFromPem(keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  // A positive serial of 16 random bytes (RFC 5280 §4.1.2.2: at most 20 octets, positive).
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = new Date(now - 60_000);
  cert.validity.notAfter = new Date(now + days * 86_400_000);
  const attrs = [{ name: 'commonName', value: 'svcdns' }, { name: 'organizationName', value: 'svcdns' }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [...new Set(hosts)].map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h })) },
  ]);
  cert.sign(key, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: keyPem };
}

/**
 * loadOrCreateTls reads the certificate and key files, or, when neither exists yet, writes a new
 * self-signed pair for `hosts` (the key readable by its owner only). created says which happened.
 */
export async function loadOrCreateTls(certFile: string, keyFile: string, hosts: readonly string[]): Promise<Result<TlsFiles & { created: boolean }, string>> {
  const read = async (f: string) => readFile(f, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : Promise.reject(err)));
  let cert: string | null;
  let key: string | null;
  try {
    [cert, key] = await Promise.all([read(certFile), read(keyFile)]);
  } catch (err) {
    return fail(`cannot read the TLS files: ${(err as Error).message}`);
  }
  if (cert !== null && key !== null) {
    try {
      new X509Certificate(cert);
    } catch (err) {
      return fail(`${certFile} is not a PEM certificate: ${(err as Error).message}`);
    }
    return ok({ cert, key, created: false });
  }
  if (cert !== null || key !== null) return fail(`${cert === null ? certFile : keyFile} is missing while ${cert === null ? keyFile : certFile} exists: give both, or neither to have a self-signed pair created`);
  const pair = selfSignedCertificate(hosts);
  try {
    await writeFileAtomic(keyFile, pair.key, { mode: 0o600 });
    await writeFileAtomic(certFile, pair.cert, { mode: 0o644 });
  } catch (err) {
    return fail(`cannot write the TLS files: ${(err as Error).message}`);
  }
  return ok({ ...pair, created: true });
}
