/**
 * How long a registry change takes to show in DNS, from the write to the first answer that has it:
 *  - API: from the HTTP response of a PUT of an EndpointSlice to the changed A answer;
 *  - file: from the rename that replaces a zone file (as editors save) to the changed A answer.
 * It starts `svcdns serve` (the built bin/svcdns.js) on a temporary zones folder and asks over
 * UDP with a raw client, one query in flight, as fast as answers come back.
 *
 *   npx tsx bench/propagation.ts [--changes 200]
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Dig, headless, slice, waitFor } from './probe.js';

const { values } = parseArgs({ options: { changes: { type: 'string', default: '200' } } });
const CHANGES = Number(values.changes);
const BIN = fileURLToPath(new URL('../bin/svcdns.js', import.meta.url));
const TOKEN = 'bench-token';

const ipOf = (i: number, base: number) => `10.${base}.${(i >> 8) & 255}.${i & 255}`;

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!.toFixed(1);
  return `p50 ${q(50)} ms, p90 ${q(90)} ms, p99 ${q(99)} ms, max ${s[s.length - 1]!.toFixed(1)} ms (${s.length} changes)`;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'svcdns-bench-'));
  const zone = join(dir, 'zones', 'cluster.local');
  await mkdir(zone, { recursive: true });
  await writeFile(join(zone, 'file.yaml'), `${headless('file')}---\n${JSON.stringify(slice('file', ipOf(0, 245)))}\n`);
  await writeFile(join(zone, 'api.yaml'), headless('api'));
  await writeFile(join(dir, 'token'), TOKEN);
  const child = spawn(process.execPath, [BIN, 'serve', '--zones', join(dir, 'zones'), '--dns', '127.0.0.1:0', '--http', '127.0.0.1:0', '--token-file', join(dir, 'token')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const ports = await new Promise<{ dns: number; http: number }>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}`)), 20_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const dns = /"msg":"serving DNS"/.test(out) && /"udp":"[^"]*:(\d+)"/.exec(out);
      const http = /"http":"[^"]*:(\d+)"/.exec(out);
      if (dns && http) {
        clearTimeout(timer);
        resolve({ dns: Number(dns[1]), http: Number(http[1]) });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}:\n${out}`)));
  });
  const dig = new Dig(ports.dns);
  const api = `http://127.0.0.1:${ports.http}/apis/discovery.k8s.io/v1/namespaces/default/endpointslices`;
  const headers = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
  try {
    const created = await fetch(api, { method: 'POST', headers, body: JSON.stringify(slice('api', ipOf(0, 246))) });
    if (created.status !== 201) throw new Error(`create failed: ${created.status} ${await created.text()}`);
    await waitFor(dig, 'api.default.svc.cluster.local', ipOf(0, 246), performance.now(), 5000);

    const apiMs: number[] = [];
    for (let i = 1; i <= CHANGES; i++) {
      const ip = ipOf(i, 246);
      const res = await fetch(`${api}/api-1`, { method: 'PUT', headers, body: JSON.stringify(slice('api', ip)) });
      await res.text();
      const acked = performance.now();
      if (res.status !== 200) throw new Error(`PUT failed: ${res.status}`);
      apiMs.push(await waitFor(dig, 'api.default.svc.cluster.local', ip, acked, 5000));
    }

    const fileMs: number[] = [];
    for (let i = 1; i <= CHANGES; i++) {
      const ip = ipOf(i, 245);
      const tmp = join(zone, '.file.yaml.swp');
      await writeFile(tmp, `${headless('file')}---\n${JSON.stringify(slice('file', ip))}\n`);
      await rename(tmp, join(zone, 'file.yaml'));
      const written = performance.now();
      fileMs.push(await waitFor(dig, 'file.default.svc.cluster.local', ip, written, 5000));
    }

    const [l1, l5, l15] = loadavg();
    console.log(`svcdns propagation, write to changed DNS answer (${cpus().length} CPUs, load average ${l1!.toFixed(2)} ${l5!.toFixed(2)} ${l15!.toFixed(2)})`);
    console.log(`  API  (HTTP response -> answer): ${stats(apiMs)}`);
    console.log(`  file (rename -> answer):        ${stats(fileMs)}`);
  } finally {
    dig.close();
    child.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
