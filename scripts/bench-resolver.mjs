// What the resolver chain costs per query: handle(buffer) on the built server (dist/), for a
// registry answer, a registry NXDOMAIN and a cache hit of a forwarded name, with the registry
// alone, with cache and forward, and with autopath too. The upstream is dnsmasq on 127.0.0.1 (it
// answers once; every timed query is synchronous). Run: npm run build && node scripts/bench-resolver.mjs
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Packet } from 'dns2';
import { parseFlags } from '../dist/cli/args.js';
import { buildResolver, RESOLVER_FLAGS, resolverConfig } from '../dist/cli/resolver.js';
import { createDnsServer } from '../dist/dns/server.js';
import { silentLogger } from '../dist/log.js';
import { loadZonesDir } from '../dist/registry/load.js';
import { Registry } from '../dist/registry/registry.js';
import { buildSnapshot } from '../dist/registry/snapshot.js';

const ROUNDS = Number(process.env.ROUNDS ?? 15);
const N = 100_000;

function query(name, type = 1) {
  const p = new Packet();
  p.header.id = 1;
  p.header.rd = 1;
  p.questions.push({ name, type, class: 1 });
  return p.toBuffer();
}

async function freePort() {
  const s = dgram.createSocket('udp4');
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

const port = await freePort();
const dnsmasq = spawn('dnsmasq', ['--keep-in-foreground', '--no-resolv', '--no-hosts', '--conf-file=/dev/null', '--pid-file=', '--listen-address=127.0.0.1', '--bind-interfaces', `--port=${port}`, '--user=root', '--auth-server=ns.example.org,127.0.0.1', '--auth-zone=example.org', '--auth-ttl=3600', '--host-record=host.example.org,192.0.2.8'], { stdio: 'ignore' });
await sleep(300);
try {
  const loaded = await loadZonesDir(fileURLToPath(new URL('../zones', import.meta.url)));
  const registry = new Registry();
  registry.swap(buildSnapshot(loaded.zones, 1));
  const log = silentLogger();
  const chain = (args) => {
    const r = buildResolver(resolverConfig(parseFlags(['--upstream', `127.0.0.1:${port}`, '--resolv-conf', '/nonexistent', ...args], {}, RESOLVER_FLAGS).values), registry, log);
    return { r, s: createDnsServer({ registry, log, handlers: r.handlers, recursionAvailable: r.recursionAvailable }) };
  };
  const servers = { 'registry only': { s: createDnsServer({ registry, log }) }, 'cache+forward': chain([]), 'autopath+cache+forward': chain(['--autopath']) };
  const messages = { 'registry A': query('myservice.default.svc.cluster.local'), 'registry NXDOMAIN': query('nosuch.default.svc.cluster.local'), 'cache hit': query('host.example.org') };
  for (const { s } of Object.values(servers)) await s.handle(messages['cache hit'], 'udp', '127.0.0.1');
  const best = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const [sn, { s }] of Object.entries(servers)) {
      for (const [mn, m] of Object.entries(messages)) {
        if (sn === 'registry only' && mn === 'cache hit') continue;
        const t = process.hrtime.bigint();
        for (let i = 0; i < N; i++) if (s.handle(m, 'udp', '127.0.0.1') instanceof Promise) throw new Error(`${mn} went async`);
        const ns = Number(process.hrtime.bigint() - t) / N;
        best[`${mn} | ${sn}`] = Math.min(best[`${mn} | ${sn}`] ?? Infinity, ns);
      }
    }
  }
  for (const [k, v] of Object.entries(best)) console.log(`${k.padEnd(45)} ${(v / 1000).toFixed(2)} µs`);
  for (const { r } of Object.values(servers)) r?.close();
} finally {
  dnsmasq.kill();
}
