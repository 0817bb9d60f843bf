import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { authorize, isLoopback, parseTokenFile, tokenMatches, type AuthConfig } from '../../src/api/auth.js';
import { DEFAULT_LIMITS, parseBody, type BodyFormat } from '../../src/api/body.js';
import { negotiate } from '../../src/api/negotiate.js';
import { decodeKubeProtobuf } from '../../src/api/protobuf.js';
import type { IncomingMessage } from 'node:http';

const bomb = `a: &a [x,x,x,x,x,x,x,x,x]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]
`;

describe('api/body: request bodies', () => {
  const rows: Array<{ desc: string; body: string | Buffer; format: BodyFormat; want?: unknown; error?: RegExp }> = [
    { desc: 'JSON', body: '{"kind":"Service"}', format: 'json', want: { kind: 'Service' } },
    { desc: 'YAML, YAML 1.2 core schema (yes stays a string, 010 is ten)', body: 'kind: Service\non: yes\nn: 010\n', format: 'yaml', want: { kind: 'Service', on: 'yes', n: 10 } },
    { desc: 'no Content-Type: JSON when it looks like it', body: ' {"a":1}', format: 'guess', want: { a: 1 } },
    { desc: 'no Content-Type: else YAML', body: 'a: 1', format: 'guess', want: { a: 1 } },
    { desc: 'a few aliases are fine', body: 'a: &x {p: 1}\nb: *x\n', format: 'yaml', want: { a: { p: 1 }, b: { p: 1 } } },
    { desc: 'not JSON', body: 'kind: Service', format: 'json', error: /^the request body is not valid JSON/ },
    { desc: 'not YAML', body: 'kind: [oops', format: 'yaml', error: /^the request body is not valid YAML/ },
    { desc: 'an alias bomb (billion laughs) is refused', body: bomb, format: 'yaml', error: /resource exhaustion|alias/i },
    { desc: 'several YAML documents', body: 'a: 1\n---\nb: 2\n', format: 'yaml', error: /several YAML documents/ },
    { desc: 'duplicate keys', body: 'a: 1\na: 2\n', format: 'yaml', error: /not valid YAML.*unique/ },
    { desc: 'empty', body: '', format: 'json', error: /empty/ },
    { desc: 'deep nesting', body: '['.repeat(100) + ']'.repeat(100), format: 'json', error: /nests deeper than 64/ },
    { desc: '__proto__ keys', body: '{"metadata":{"__proto__":{"x":1}}}', format: 'json', error: /__proto__/ },
    { desc: 'YAML __proto__ keys', body: 'metadata:\n  __proto__: {x: 1}\n', format: 'yaml', error: /__proto__/ },
    { desc: 'not UTF-8', body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), format: 'json', error: /not UTF-8/ },
  ];
  for (const r of rows) {
    it(r.desc, () => {
      const got = parseBody(Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body), r.format, DEFAULT_LIMITS);
      if (r.error) {
        expect(got.ok, JSON.stringify(got)).to.equal(false);
        if (!got.ok) {
          expect(got.error.reason).to.equal('BadRequest');
          expect(got.error.code).to.equal(400);
          expect(got.error.message).to.match(r.error);
        }
        return;
      }
      expect(got.ok ? got.value : got.error).to.deep.equal(r.want);
    });
  }
});

describe('api/protobuf: what kubectl 1.32+ sends for create service and create namespace', () => {
  const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/api/${name}.pb`, import.meta.url)));
  const rows: Array<{ file: string; want: unknown }> = [
    {
      file: 'service-nodeport',
      want: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', labels: { app: 'web' } },
        spec: { ports: [{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }], selector: { app: 'web' }, type: 'NodePort' },
        status: { loadBalancer: {} },
      },
    },
    { file: 'service-headless', want: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: 'shop', labels: { app: 'db' } }, spec: { selector: { app: 'db' }, clusterIP: 'None', type: 'ClusterIP' }, status: { loadBalancer: {} } } },
    {
      file: 'service-externalname',
      want: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'docs', labels: { app: 'docs' } }, spec: { selector: { app: 'docs' }, type: 'ExternalName', externalName: 'www.example.org' }, status: { loadBalancer: {} } },
    },
    { file: 'namespace', want: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' }, spec: {}, status: {} } },
  ];
  for (const r of rows) it(`kubectl create ${r.file.replace('-', ' ')}`, () => expect(decodeKubeProtobuf(fixture(r.file))).to.deep.equal({ ok: true, value: r.want }));
  it('a field it does not know is refused, not dropped', () => {
    const buf = Buffer.from(fixture('namespace'));
    const r = decodeKubeProtobuf(Buffer.concat([buf.subarray(0, 4), Buffer.from([0x0a, 0x05, 0x0a, 0x01, 0x78, 0x12, 0x00]), Buffer.from([0x12, 0x02, 0xf8, 0x01])]));
    expect(r.ok).to.equal(false);
  });
  it('a body without the k8s magic is refused', () => expect(decodeKubeProtobuf(Buffer.from('{}')).ok).to.equal(false));
  it('a truncated body is refused', () => expect(decodeKubeProtobuf(fixture('service-nodeport').subarray(0, 60)).ok).to.equal(false));
});

describe('api/negotiate: Accept headers', () => {
  const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
  const rows: Array<{ accept: string | undefined; list?: boolean; want: string }> = [
    { accept: undefined, want: 'json object' },
    { accept: 'application/json, */*', want: 'json object' },
    { accept: 'application/vnd.kubernetes.protobuf,application/json', want: 'json object' },
    { accept: TABLE, want: 'json table v1' },
    { accept: 'application/json;as=Table;v=v1beta1;g=meta.k8s.io', want: 'json table v1beta1' },
    { accept: 'application/yaml', want: 'yaml object' },
    { accept: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io', list: true, want: 'json partial v1' },
    { accept: 'application/json;as=APIGroupDiscoveryList;v=v2;g=apidiscovery.k8s.io,application/json', want: 'json object' },
    { accept: 'application/vnd.kubernetes.protobuf', want: 'none' },
    { accept: 'text/html', want: 'none' },
  ];
  for (const r of rows) {
    it(`${r.accept ?? '(none)'}: ${r.want}`, () => {
      const o = negotiate(r.accept, { list: r.list ?? false });
      expect(o ? `${o.encoding} ${o.as}${o.as === 'object' ? '' : ` ${o.metaVersion}`}` : 'none').to.equal(r.want);
    });
  }
});

describe('api/auth: who may read and write', () => {
  const req = (auth?: string, address = '127.0.0.1') => ({ headers: auth ? { authorization: auth } : {}, socket: { remoteAddress: address } }) as unknown as IncomingMessage;
  const withToken: AuthConfig = { tokens: ['s3cret'], insecureAllowWrites: false };
  const noToken: AuthConfig = { tokens: [], insecureAllowWrites: false };
  const insecure: AuthConfig = { tokens: [], insecureAllowWrites: true };
  const rows: Array<{ desc: string; auth: AuthConfig; header?: string; address?: string; write: boolean; want: string }> = [
    { desc: 'write with the right token', auth: withToken, header: 'Bearer s3cret', write: true, want: 'allowed' },
    { desc: 'write with a wrong token', auth: withToken, header: 'Bearer nope', write: true, want: '401 Unauthorized' },
    { desc: 'write without a token', auth: withToken, write: true, want: '401 Unauthorized' },
    { desc: 'write with basic auth', auth: withToken, header: 'Basic czNjcmV0', write: true, want: '401 Unauthorized' },
    { desc: 'read on loopback without a token', auth: withToken, write: false, want: 'allowed' },
    { desc: 'read on loopback (IPv4-mapped) without a token', auth: withToken, address: '::ffff:127.0.0.1', write: false, want: 'allowed' },
    { desc: 'read from another machine without a token', auth: withToken, address: '192.0.2.7', write: false, want: '401 Unauthorized' },
    { desc: 'read from another machine with the token', auth: withToken, header: 'Bearer s3cret', address: '192.0.2.7', write: false, want: 'allowed' },
    { desc: 'read with a wrong token, even on loopback', auth: withToken, header: 'Bearer nope', write: false, want: '401 Unauthorized' },
    { desc: 'no token configured: writes refused, saying how to configure', auth: noToken, write: true, want: '403 Forbidden' },
    { desc: 'no token configured: loopback reads open', auth: noToken, write: false, want: 'allowed' },
    { desc: 'no token configured: remote reads refused', auth: noToken, address: '192.0.2.7', write: false, want: '403 Forbidden' },
    { desc: '--insecure-allow-writes: writes allowed', auth: insecure, write: true, want: 'allowed' },
  ];
  for (const r of rows) {
    it(`${r.desc}: ${r.want}`, () => {
      const s = authorize(req(r.header, r.address), r.write, r.auth);
      expect(s ? `${s.code} ${s.reason}` : 'allowed').to.equal(r.want);
      if (s?.code === 403) expect(s.message).to.match(/--token-file FILE.*--insecure-allow-writes/);
    });
  }
  it('tokens compare whole: a prefix or a longer string does not match', () => {
    expect(tokenMatches('s3cre', ['s3cret'])).to.equal(false);
    expect(tokenMatches('s3cretx', ['s3cret'])).to.equal(false);
    expect(tokenMatches('s3cret', ['a', 's3cret'])).to.equal(true);
  });
  it('token files: one per line, comments and kube-apiserver CSV lines', () => {
    expect(parseTokenFile('# tokens\nabc\n\n  def  \nghi,admin,1\n')).to.deep.equal(['abc', 'def', 'ghi']);
  });
  it('loopback addresses', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'].map(isLoopback)).to.deep.equal([true, true, true, true]);
    expect(['192.0.2.1', '::ffff:192.0.2.1', '2001:db8::1', undefined].map(isLoopback)).to.deep.equal([false, false, false, false]);
  });
});
