/**
 * Running dnsperf (pinned to a CPU) and reading its summary; with `latencies`, dnsperf's -v lines
 * give every query's latency for percentiles.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** DnsperfRun is what one dnsperf run is asked to do. */
export interface DnsperfRun {
  port: number;
  queryFile: string;
  tcp: boolean;
  seconds: number;
  /** Fixed offered load (-Q); absent: as fast as answers come (-q outstanding). */
  qps?: number;
  /** CPU list dnsperf runs on (taskset). */
  cpu: string;
  /** Collect per-query latencies (-v). */
  latencies?: boolean;
}

/** DnsperfResult is dnsperf's summary. */
export interface DnsperfResult {
  sent: number;
  completed: number;
  lost: number;
  qps: number;
  avgLatencyMs: number;
  /** dnsperf's own measure of the run's length, s. */
  runSeconds: number;
  rcodes: string;
  /** Percentiles of per-query latency, ms (only with `latencies`). */
  p50Ms?: number;
  p99Ms?: number;
  p999Ms?: number;
}

/** dnsperf runs one measurement against 127.0.0.1. */
export function dnsperf(run: DnsperfRun): Promise<DnsperfResult> {
  const args = ['-c', String(run.cpu), 'dnsperf', '-s', '127.0.0.1', '-p', String(run.port), '-d', run.queryFile, '-l', String(run.seconds), '-t', '2', '-c', '10', '-q', '100'];
  if (run.tcp) args.push('-m', 'tcp');
  if (run.qps) args.push('-Q', String(run.qps));
  if (run.latencies) args.push('-v');
  const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lat: number[] = [];
  let summary = '';
  let err = '';
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    if (line.startsWith('> ')) {
      const v = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (Number.isFinite(v)) lat.push(v * 1000);
    } else summary += `${line}\n`;
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), (run.seconds + 30) * 1000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      const num = (re: RegExp) => Number(re.exec(summary)?.[1] ?? NaN);
      const sent = num(/Queries sent:\s+(\d+)/);
      if (code !== 0 || !Number.isFinite(sent)) return reject(new Error(`dnsperf failed (exit ${code}): ${err}${summary.slice(-2000)}`));
      const r: DnsperfResult = {
        sent,
        completed: num(/Queries completed:\s+(\d+)/),
        lost: num(/Queries lost:\s+(\d+)/),
        qps: num(/Queries per second:\s+([\d.]+)/),
        avgLatencyMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
        runSeconds: num(/Run time \(s\):\s+([\d.]+)/),
        rcodes: /Response codes:\s+(.*)/.exec(summary)?.[1] ?? '',
      };
      if (run.latencies && lat.length) {
        lat.sort((a, b) => a - b);
        const at = (p: number) => lat[Math.min(lat.length - 1, Math.ceil(p * lat.length) - 1)]!;
        r.p50Ms = at(0.5);
        r.p99Ms = at(0.99);
        r.p999Ms = at(0.999);
      }
      resolve(r);
    });
  });
}
