/** What the registry benchmarks share: the objects they write and a raw DNS client that polls for a change. */
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';

/** headless is a headless Service whose EndpointSlice a benchmark rewrites. */
export const headless = (name: string) => `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: default}\nspec: {clusterIP: None, ports: [{name: http, port: 80}]}\n`;
/** slice is the EndpointSlice of `name` with one ready address. */
export const slice = (name: string, ip: string) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: `${name}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': name } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080 }],
  endpoints: [{ addresses: [ip] }],
});

/** A raw DNS client over UDP: A queries, answers parsed just enough to list the addresses. */
export class Dig {
  private readonly sock = dgram.createSocket('udp4');
  private id = 1;
  private readonly pending = new Map<number, (ips: string[]) => void>();
  constructor(private readonly port: number) {
    this.sock.on('message', (msg) => {
      const id = msg.readUInt16BE(0);
      const done = this.pending.get(id);
      this.pending.delete(id);
      done?.(parseA(msg));
    });
  }
  query(name: string, timeoutMs = 1000): Promise<string[] | null> {
    const labels = name.split('.').flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]);
    const id = (this.id = (this.id + 1) & 0xffff);
    const header = Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    const msg = Buffer.concat([header, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(null);
      }, timeoutMs);
      this.pending.set(id, (ips) => {
        clearTimeout(timer);
        resolve(ips);
      });
      this.sock.send(msg, this.port, '127.0.0.1');
    });
  }
  close(): void {
    this.sock.close();
  }
}

/** waitFor polls until `name` answers `ip`; the time since `since`, in ms. */
export async function waitFor(dig: Dig, name: string, ip: string, since: number, limitMs: number): Promise<number> {
  for (;;) {
    const got = await dig.query(name);
    if (got?.includes(ip)) return performance.now() - since;
    if (performance.now() - since > limitMs) throw new Error(`${name} never answered ${ip}`);
  }
}

/** parseA reads the IPv4 addresses of the A records in a DNS response (benchmark probes: no dns2 on the timed path). */
export function parseA(msg: Buffer): string[] {
  let off = 12;
  const skipName = () => {
    while (off < msg.length) {
      const len = msg[off]!;
      if (len === 0) return void off++;
      if ((len & 0xc0) === 0xc0) return void (off += 2);
      off += len + 1;
    }
  };
  const qd = msg.readUInt16BE(4);
  const an = msg.readUInt16BE(6);
  for (let i = 0; i < qd; i++) {
    skipName();
    off += 4;
  }
  const out: string[] = [];
  for (let i = 0; i < an && off < msg.length; i++) {
    skipName();
    const type = msg.readUInt16BE(off);
    const rdlen = msg.readUInt16BE(off + 8);
    off += 10;
    if (type === 1 && rdlen === 4) out.push([...msg.subarray(off, off + 4)].join('.'));
    off += rdlen;
  }
  return out;
}
