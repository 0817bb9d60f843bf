/**
 * How long a write to etcd takes to be answered by every replica:
 *   npx tsx bench/etcd-propagation.ts [--replicas 3] [--writes 200]
 * Starts a real etcd and N `svcdns serve --etcd` processes (the built dist/: run `npm run build`
 * first), then changes the one endpoint of a headless Service `writes` times. Each write is a
 * plain etcd put; from just before it, each replica is asked over UDP, back to back, until it
 * answers the new address. Prints p50/p90/p99/max over writes x replicas, in milliseconds: the
 * etcd put (raft commit and WAL fsync: the disk's share), the answer counted from the put, and
 * counted from etcd's acknowledgement (svcdns's share: watch, snapshot rebuild, answer).
 * SVCDNS_TEST_ETCD_DIR=/dev/shm puts etcd's data on tmpfs, to leave the disk out.
 */
import { createSocket, type Socket } from 'node:dgram';
import { parseArgs } from 'node:util';
import { Packet } from 'dns2';
import { startEtcd, etcdClient, seedZone } from '../test/helpers/etcd.js';
import { query } from '../test/helpers/case.js';
import { startServe, type ServeProcess } from '../test/helpers/tools.js';

const { values } = parseArgs({ options: { replicas: { type: 'string', default: '3' }, writes: { type: 'string', default: '200' } } });
const replicaCount = Number(values.replicas);
const writes = Number(values.writes);
const NAME = 'bench.shop.svc.cluster.local';
const PREFIX = '/svcdns';

const slice = (ip: string) =>
  JSON.stringify({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'bench-1', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'bench' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080 }],
    endpoints: [{ addresses: [ip], conditions: { ready: true } }],
  });

/** ask sends one A query and resolves with the addresses answered (empty after 200 ms). */
function ask(sock: Socket, port: number): Promise<string[]> {
  return new Promise((resolve) => {
    const msg = query(NAME, 'A');
    const id = msg.readUInt16BE(0);
    const timer = setTimeout(() => done([]), 200);
    const onMessage = (buf: Buffer) => {
      if (buf.readUInt16BE(0) !== id) return;
      done(Packet.parse(buf).answers.map((a) => (a as { address?: string }).address ?? ''));
    };
    const done = (v: string[]) => {
      clearTimeout(timer);
      sock.off('message', onMessage);
      resolve(v);
    };
    sock.on('message', onMessage);
    sock.send(msg, port, '127.0.0.1');
  });
}

async function until(sock: Socket, port: number, ip: string, t0: number): Promise<number> {
  for (;;) {
    const got = await ask(sock, port);
    if (got.length === 1 && got[0] === ip) return performance.now() - t0;
    if (performance.now() - t0 > 10_000) throw new Error(`replica on ${port} never answered ${ip}`);
  }
}

const etcd = await startEtcd();
const client = etcdClient(etcd.url);
const replicas: ServeProcess[] = [];
try {
  await seedZone(etcd.url, PREFIX, 'cluster.local');
  await client.put(`${PREFIX}/registry/cluster.local/services/shop/bench`).value(JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'bench', namespace: 'shop' }, spec: { clusterIP: 'None', ports: [{ name: 'http', port: 8080 }] } }));
  await client.put(`${PREFIX}/registry/cluster.local/endpointslices/shop/bench-1`).value(slice('198.51.100.1'));
  for (let i = 0; i < replicaCount; i++) replicas.push(await startServe(['--etcd', etcd.url, '--dns', '127.0.0.1:0']));
  const sockets = replicas.map(() => createSocket('udp4'));
  for (const [i, r] of replicas.entries()) await until(sockets[i]!, r.port, '198.51.100.1', performance.now());
  const samples: number[] = [];
  const commits: number[] = [];
  const afterAck: number[] = [];
  for (let w = 0; w < writes; w++) {
    const ip = `198.51.${101 + Math.floor(w / 250)}.${(w % 250) + 1}`;
    const t0 = performance.now();
    const put = client
      .put(`${PREFIX}/registry/cluster.local/endpointslices/shop/bench-1`)
      .value(slice(ip))
      .exec()
      .then(() => commits.push(performance.now() - t0));
    const seen = await Promise.all(replicas.map((r, i) => until(sockets[i]!, r.port, ip, t0)));
    await put;
    samples.push(...seen);
    for (const t of seen) afterAck.push(t - commits[commits.length - 1]!);
  }
  for (const s of sockets) s.close();
  const f = (v: number) => v.toFixed(2);
  const line = (xs: number[]) => {
    xs.sort((a, b) => a - b);
    const pct = (p: number) => xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
    return `p50 ${f(pct(50))} ms  p90 ${f(pct(90))} ms  p99 ${f(pct(99))} ms  max ${f(xs[xs.length - 1]!)} ms`;
  };
  console.log(`${writes} writes, ${replicaCount} replicas (${samples.length} samples)`);
  console.log(`  etcd put acknowledged:             ${line(commits)}`);
  console.log(`  answered by a replica (from put):  ${line(samples)}`);
  console.log(`  answered, counted from the ack:    ${line(afterAck)}`);
} finally {
  await Promise.all(replicas.map((r) => r.stop()));
  client.close();
  await etcd.stop();
}
