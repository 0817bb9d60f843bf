/**
 * A real upstream for the forwarding tests: dnsmasq from Debian, on 127.0.0.1 and a free port,
 * with no resolv.conf and no hosts file, so it answers only the names a test gives it and never
 * sends anything off the machine. Stopped by its process id.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { query } from './case.js';
import { requireTool } from './tools.js';

/** Dnsmasq is a running dnsmasq. */
export interface Dnsmasq {
  port: number;
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * The zone the tests' dnsmasq serves authoritatively (so negative answers carry an SOA, TTL and
 * MINIMUM 30): host.example.org A 192.0.2.8, upstream.example.org A 192.0.2.7, big.example.org
 * with 100 A records (1.6 KB: more than a UDP answer of 1232 octets), txt.example.org TXT.
 */
export function exampleOrg(host = '127.0.0.1'): string[] {
  const big: string[] = [];
  for (let i = 1; i <= 100; i++) big.push(`--host-record=big.example.org,192.0.2.${i}`);
  return [
    `--auth-server=ns.example.org,${host}`,
    '--auth-zone=example.org',
    '--auth-ttl=30',
    '--host-record=host.example.org,192.0.2.8',
    '--host-record=upstream.example.org,192.0.2.7',
    '--host-record=v6.example.org,2001:db8::6',
    '--txt-record=txt.example.org,hello from dnsmasq',
    ...big,
  ];
}

/** freePort finds a port free for both UDP and TCP on 127.0.0.1. */
export async function freePort(): Promise<number> {
  for (;;) {
    const s = dgram.createSocket('udp4');
    const port = await new Promise<number>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => resolve(s.address().port));
    });
    const tcpFree = await new Promise<boolean>((resolve) => {
      const t = net.createServer();
      t.once('error', () => resolve(false));
      t.listen(port, '127.0.0.1', () => t.close(() => resolve(true)));
    });
    await new Promise<void>((r) => s.close(() => r()));
    if (tcpFree) return port;
  }
}

/** startDnsmasq runs dnsmasq in the foreground with `args` on host:port (default a free port) and waits until it answers. */
export async function startDnsmasq(args: string[], port?: number, host = '127.0.0.1'): Promise<Dnsmasq> {
  const bin = requireTool('dnsmasq');
  for (let attempt = 0; ; attempt++) {
    const p = port ?? (await freePort());
    const all = ['--keep-in-foreground', '--no-resolv', '--no-hosts', '--conf-file=/dev/null', '--pid-file=', `--listen-address=${host}`, '--bind-interfaces', `--port=${p}`, '--log-facility=-', '--user=root', '--local=/svcdns-ready.test/', ...args];
    const child = spawn(bin, all, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const stop = () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    if (await answers(host, p, child)) return { port: p, child, output: () => out, stop };
    await stop();
    if (attempt >= 3 || port !== undefined) throw new Error(`dnsmasq did not start on ${host}:${p}:\n${out}`);
  }
}

// Polls with a query until dnsmasq replies (any rcode), for up to 5 s.
async function answers(host: string, port: number, child: ChildProcess): Promise<boolean> {
  for (let i = 0; i < 50 && child.exitCode === null; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = dgram.createSocket('udp4');
      const timer = setTimeout(() => done(false), 100);
      const done = (v: boolean) => {
        clearTimeout(timer);
        s.close();
        resolve(v);
      };
      s.on('message', () => done(true));
      s.on('error', () => done(false));
      s.send(query('up.svcdns-ready.test', 'A'), port, host); // answered locally, never forwarded
    });
    if (ok) return true;
    await sleep(100);
  }
  return false;
}

/** Blackhole is a UDP socket that reads queries and never answers. */
export interface Blackhole {
  port: number;
  received: () => number;
  close: () => Promise<void>;
}

/** blackhole opens a UDP socket on 127.0.0.1 that swallows every datagram. */
export async function blackhole(): Promise<Blackhole> {
  const s = dgram.createSocket('udp4');
  let n = 0;
  s.on('message', () => n++);
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return { port: s.address().port, received: () => n, close: () => new Promise((r) => s.close(() => r())) };
}
