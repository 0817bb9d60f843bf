/**
 * Registry scale: load time and memory of `svcdns serve` for registries of 10, 1,000 and 100,000
 * Services (one EndpointSlice each, scripts/gen-registry.ts, JSON and YAML), then single-object
 * changes through the file store while DNS is asked:
 *  - API: PUT of an EndpointSlice, from the HTTP response to the first DNS answer that has it;
 *  - file: rename of a small zone file over the old one (as editors save), to the changed answer.
 * It also reports the longest event-loop stall while the changes run (monitorEventLoopDelay,
 * preloaded into the server by bench/loop-probe.mjs) and the slowest answer of a prober that asks
 * an unchanged name every 5 ms (what a client sees while the registry changes).
 *
 *   npm run build && npx tsx bench/scale.ts [--sizes 10,1000,100000] [--formats json,yaml]
 *     [--changes 200] [--phase-budget 300] [--bin path/to/other/bin/svcdns.js]
 *
 * Not part of npm test. The generated registry is one big file (services.<format>); the objects
 * that change live in small files of their own (the API writes one file per object), which is
 * how a big registry should be laid out: rewriting one object inside a 60 MB file costs a parse
 * of the whole file.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { Dig, headless, slice, waitFor } from './probe.js';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10,1000,100000' },
    formats: { type: 'string', default: 'json,yaml' },
    changes: { type: 'string', default: '200' },
    'phase-budget': { type: 'string', default: '300' },
    bin: { type: 'string' },
  },
});
const SIZES = values.sizes.split(',').map(Number);
const FORMATS = values.formats.split(',');
const CHANGES = Number(values.changes);
const BUDGET_MS = Number(values['phase-budget']) * 1000;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
// --bin runs another build of svcdns (e.g. a checkout of main) for before/after figures.
const BIN = values.bin ?? join(ROOT, 'bin', 'svcdns.js');
const PROBE = join(ROOT, 'bench', 'loop-probe.mjs');
const TOKEN = 'bench-token';

const ipOf = (i: number, base: number) => `192.${base}.${(i >> 8) & 255}.${i & 255}`;

/** Prober asks one unchanged name every 5 ms and keeps the slowest answer (a timeout counts 2 s). */
class Prober {
  private timer: NodeJS.Timeout | undefined;
  private worst = 0;
  private lost = 0;
  private asked = 0;
  constructor(private readonly dig: Dig, private readonly name: string) {}
  start(): void {
    this.worst = this.lost = this.asked = 0;
    this.timer = setInterval(() => {
      const t = performance.now();
      this.asked++;
      void this.dig.query(this.name, 2000).then((r) => {
        if (r === null) this.lost++;
        this.worst = Math.max(this.worst, performance.now() - t);
      });
    }, 5);
  }
  async stop(): Promise<{ worstMs: number; lost: number; asked: number }> {
    clearInterval(this.timer);
    await new Promise((r) => setTimeout(r, 2100));
    return { worstMs: this.worst, lost: this.lost, asked: this.asked };
  }
}

function quantile(ms: number[], p: number): number {
  if (!ms.length) return NaN;
  const s = [...ms].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

const mb = (kb: number) => Math.round(kb / 1024);
async function memory(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: mb(kb('VmRSS')), peak: mb(kb('VmHWM')) };
}

interface Server {
  child: ChildProcess;
  output: () => string;
  dns: number;
  http: number;
  loadedMs: number;
  readyMs: number;
}

async function startServer(zones: string, token: string): Promise<Server> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', PROBE, BIN, 'serve', '--zones', zones, '--dns', '127.0.0.1:0', '--http', '127.0.0.1:0', '--token-file', token, '--upstream', 'none'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const dns = /"msg":"serving DNS"/.test(out) && /"udp":"[^"]*:(\d+)"/.exec(out);
      const http = /"http":"[^"]*:(\d+)"/.exec(out);
      const loaded = /"ms":(\d+),"msg":"registry loaded"/.exec(out);
      if (dns && http && loaded) {
        clearInterval(timer);
        resolve({ child, output: () => out, dns: Number(dns[1]), http: Number(http[1]), loadedMs: Number(loaded[1]), readyMs: performance.now() - started });
      } else if (performance.now() - started > 600_000) {
        clearInterval(timer);
        reject(new Error(`serve did not start:\n${out.slice(-2000)}`));
      }
    }, 20);
    child.once('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`serve exited with ${code}:\n${out.slice(-2000)}`));
    });
  });
}

// Asks the preloaded probe for the longest event-loop delay since the last ask.
async function loopMax(s: Server): Promise<number> {
  const before = s.output().length;
  s.child.kill('SIGUSR2');
  for (let i = 0; i < 500; i++) {
    const m = /\{"loopProbe":\{"maxMs":([\d.]+)/.exec(s.output().slice(before));
    if (m) return Number(m[1]);
    await new Promise((r) => setTimeout(r, 10));
  }
  return NaN;
}

interface Row {
  size: number;
  format: string;
  readyMs: number;
  loadedMs: number;
  rss: number;
  peak: number;
  api: number[];
  put: number[];
  file: number[];
  loopMs: number;
  probe: { worstMs: number; lost: number; asked: number };
  rssAfter: number;
}

async function measure(size: number, format: string, dir: string): Promise<Row> {
  const zonesDir = join(dir, `zones-${size}-${format}`);
  await run(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'gen-registry.ts'), '--services', String(size), '--format', format, '--out', zonesDir], { maxBuffer: 1 << 26, cwd: ROOT });
  const zone = join(zonesDir, 'cluster.local');
  await writeFile(join(zone, 'bench-file.yaml'), `${headless('bench-file')}---\n${JSON.stringify(slice('bench-file', ipOf(0, 0)))}\n`);
  await writeFile(join(zone, 'bench-api.yaml'), headless('bench-api'));
  await writeFile(join(dir, 'token'), TOKEN);
  const s = await startServer(zonesDir, join(dir, 'token'));
  const dig = new Dig(s.dns);
  const probeDig = new Dig(s.dns);
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const mem = await memory(s.child.pid!);
    const api = `http://127.0.0.1:${s.http}/apis/discovery.k8s.io/v1/namespaces/default/endpointslices`;
    const headers = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
    const created = await fetch(api, { method: 'POST', headers, body: JSON.stringify(slice('bench-api', ipOf(0, 1))) });
    if (created.status !== 201) throw new Error(`create failed: ${created.status} ${await created.text()}`);
    await waitFor(dig, 'bench-api.default.svc.cluster.local', ipOf(0, 1), performance.now(), 60_000);
    await new Promise((r) => setTimeout(r, 500));

    const prober = new Prober(probeDig, 'svc-0.ns-0.svc.cluster.local');
    await loopMax(s); // a new window: the load itself is not a change
    prober.start();
    const apiMs: number[] = [];
    const putMs: number[] = [];
    let phase = performance.now();
    for (let i = 1; i <= CHANGES && performance.now() - phase < BUDGET_MS; i++) {
      const ip = ipOf(i, 1);
      const sent = performance.now();
      const res = await fetch(`${api}/bench-api-1`, { method: 'PUT', headers, body: JSON.stringify(slice('bench-api', ip)) });
      await res.text();
      const acked = performance.now();
      putMs.push(acked - sent);
      if (res.status !== 200) throw new Error(`PUT failed: ${res.status}`);
      apiMs.push(await waitFor(dig, 'bench-api.default.svc.cluster.local', ip, acked, 60_000));
    }
    const fileMs: number[] = [];
    phase = performance.now();
    for (let i = 1; i <= CHANGES && performance.now() - phase < BUDGET_MS; i++) {
      const ip = ipOf(i, 0);
      const tmp = join(zone, '.bench-file.yaml.swp');
      await writeFile(tmp, `${headless('bench-file')}---\n${JSON.stringify(slice('bench-file', ip))}\n`);
      await rename(tmp, join(zone, 'bench-file.yaml'));
      const written = performance.now();
      fileMs.push(await waitFor(dig, 'bench-file.default.svc.cluster.local', ip, written, 60_000));
    }
    const probe = await prober.stop();
    const loopMs = await loopMax(s);
    const after = await memory(s.child.pid!);
    return { size, format, readyMs: s.readyMs, loadedMs: s.loadedMs, rss: mem.rss, peak: mem.peak, api: apiMs, put: putMs, file: fileMs, loopMs, probe, rssAfter: after.rss };
  } finally {
    dig.close();
    probeDig.close(); // an open socket would keep the bench running once done
    s.child.kill('SIGTERM');
    await rm(zonesDir, { recursive: true, force: true });
  }
}

const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '-');
const f0 = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : '-');

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'svcdns-scale-'));
  await mkdir(dir, { recursive: true });
  const [l1, l5, l15] = loadavg();
  console.log(`svcdns registry scale (${cpus().length} CPUs, load average ${l1!.toFixed(2)} ${l5!.toFixed(2)} ${l15!.toFixed(2)} at start)`);
  console.log('| services | format | start to serving (s) | load (s) | RSS after load (MB) | peak RSS (MB) | API change->DNS p50/p99 (ms) | API PUT p50/p99 (ms) | file change->DNS p50/p99 (ms) | changes (api/file) | longest loop stall (ms) | slowest probe answer (ms), lost | RSS after changes (MB) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  try {
    for (const size of SIZES) {
      for (const format of FORMATS) {
        const r = await measure(size, format, dir);
        console.log(
          `| ${r.size} | ${r.format} | ${(r.readyMs / 1000).toFixed(2)} | ${(r.loadedMs / 1000).toFixed(2)} | ${r.rss} | ${r.peak} | ${f1(quantile(r.api, 50))} / ${f1(quantile(r.api, 99))} | ${f1(quantile(r.put, 50))} / ${f1(quantile(r.put, 99))} | ${f1(quantile(r.file, 50))} / ${f1(quantile(r.file, 99))} | ${r.api.length}/${r.file.length} | ${f1(r.loopMs)} | ${f0(r.probe.worstMs)}, ${r.probe.lost}/${r.probe.asked} | ${r.rssAfter} |`,
        );
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const [e1, e5, e15] = loadavg();
  console.log(`load average at end ${e1!.toFixed(2)} ${e5!.toFixed(2)} ${e15!.toFixed(2)}`);
}

await main();
