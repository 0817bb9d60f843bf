/**
 * A TCP proxy on a free loopback port that tests can cut and heal: a network partition between
 * one replica and etcd, while etcd itself keeps running for everyone else.
 */
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';

/** Partition is a running proxy to one target port. */
export interface Partition {
  port: number;
  /** cut drops every connection and refuses new ones until heal. */
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

/** startPartition proxies 127.0.0.1:<free port> to 127.0.0.1:targetPort. */
export async function startPartition(targetPort: number): Promise<Partition> {
  const sockets = new Set<Socket>();
  let open = true;
  const server = createServer((client) => {
    if (!open) return void client.destroy();
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    heal() {
      open = true;
    },
    close: () =>
      new Promise((resolve) => {
        open = false;
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
