import net, { type AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import { TCP_CLOSE, type ListenerStats } from '../ops/dns-stats.js';
import type { HandleResult } from './server.js';
import type { Transport } from './message.js';
import type { Listener } from './udp.js';

/** TcpOptions bound what one client can hold (RFC 7766 §6.2.3, §10). */
export interface TcpOptions {
  /** Connections kept at once; more are closed as they arrive. */
  maxConnections: number;
  /**
   * Close a connection idle this long (ms). Once half the connection slots are taken, new
   * connections get a tenth of it (RFC 7766 §6.2.3: servers may shorten it under load).
   */
  idleTimeoutMs: number;
  /**
   * A message must arrive whole within this long (ms) of its first byte, else the connection is
   * closed: a slow sender (one byte a second) cannot hold a slot.
   */
  frameTimeoutMs: number;
  /** Stop reading from a client that does not read its answers once this many bytes wait to be sent. */
  maxWriteBuffer: number;
  /** How long close() waits for answers still being computed before closing connections (ms). */
  drainTimeoutMs: number;
  /** TCP messages all connections together answer per event-loop turn, so that UDP keeps its share. */
  turnBudget: number;
  /** One connection's share of a turn. */
  connectionTurnBudget: number;
}

const DEFAULTS: TcpOptions = {
  maxConnections: 1000,
  idleTimeoutMs: 10_000,
  frameTimeoutMs: 5_000,
  maxWriteBuffer: 256 << 10,
  drainTimeoutMs: 5_000,
  turnBudget: 128,
  connectionTurnBudget: 32,
};

/** TcpListenOptions configure listenTcp. */
export interface TcpListenOptions extends Partial<TcpOptions> {
  host: string;
  port: number;
  handle: (message: Buffer, transport: Transport, client: string) => HandleResult | Promise<HandleResult>;
  log: Logger;
  stats?: ListenerStats;
}

/** A connection's state, for draining on close. */
interface Conn {
  socket: net.Socket;
  /** Answers still being computed. */
  inFlight: number;
  draining: boolean;
  /** True while received queries wait for a turn (they are answered before the connection ends). */
  waitingTurn: () => boolean;
}

/**
 * listenTcp serves DNS over TCP with 2-octet length framing (RFC 1035 §4.2.2): prefixes split
 * across segments, pipelined queries (RFC 7766 §6.2.1.1) answered with one write per read.
 */
export async function listenTcp(opts: TcpListenOptions): Promise<Listener> {
  const { host, port, handle, log } = opts;
  const stats = opts.stats ?? noStats();
  const o = { ...DEFAULTS, ...definedOnly(opts) };
  const conns = new Set<Conn>();
  const budget = new TurnBudget(o.turnBudget, o.connectionTurnBudget);
  // allowHalfOpen: a client may send its queries and half-close; it still gets every answer
  // (queries waiting for their turn included), then our FIN.
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
    const conn: Conn = { socket, inFlight: 0, draining: false, waitingTurn: () => false };
    conns.add(conn);
    stats.tcpAccepted++;
    stats.tcpOpen++;
    socket.on('close', () => {
      conns.delete(conn);
      stats.tcpOpen--;
    });
    const idle = conns.size > o.maxConnections / 2 ? Math.max(o.idleTimeoutMs / 10, 100) : o.idleTimeoutMs;
    serveConnection(conn, handle, o, idle, stats, budget);
  });
  server.maxConnections = o.maxConnections;
  // Over the cap, Node closes the new connection at once and says so here.
  server.on('drop', () => stats.tcpClosed[TCP_CLOSE.limit]!++);
  server.on('error', (err) => log.warn({ err }, 'TCP server error'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    address: server.address() as AddressInfo,
    // Stop accepting; let every connection finish the answers it owes, then end it (FIN, so the
    // answers already written are not lost to a reset); whatever remains after the drain timeout
    // is destroyed.
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of conns) {
          c.draining = true;
          if (c.inFlight === 0 && !c.waitingTurn()) c.socket.end();
        }
        const timer = setTimeout(() => {
          for (const c of conns) c.socket.destroy();
        }, o.drainTimeoutMs);
        timer.unref();
        server.once('close', () => clearTimeout(timer));
      }),
  };
}

/**
 * TurnBudget shares out how many TCP messages all connections together may answer in one turn
 * of the event loop. Without it, a few clients pipelining flat out make Node read and answer
 * megabytes per turn (libuv reads a socket up to 32 times per event) while UDP gets 32
 * datagrams: UDP answers then wait seconds and the socket buffer overflows. A connection that
 * has more queued than its share pauses reading and waits its turn, first come first served.
 */
class TurnBudget {
  private used = 0;
  private armed = false;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly perTurn: number,
    /** One connection's share of a turn. */
    readonly perConnection: number,
  ) {}

  /** busy says whether work must wait for a later turn (the budget is spent or others wait). */
  get busy(): boolean {
    return this.used >= this.perTurn || this.waiting.length > 0;
  }

  /** take claims one message of this turn's budget; false when it is spent. */
  take(): boolean {
    if (this.used >= this.perTurn) return false;
    if (this.used++ === 0) this.arm();
    return true;
  }

  /** later runs `work` in a coming turn, after the connections already waiting. */
  later(work: () => void): void {
    this.waiting.push(work);
    this.arm();
  }

  private arm(): void {
    if (this.armed) return;
    this.armed = true;
    setImmediate(() => this.turn());
  }

  private turn(): void {
    this.armed = false;
    this.used = 0;
    for (let n = this.waiting.length; n > 0 && this.used < this.perTurn; n--) this.waiting.shift()!();
    if (this.waiting.length) this.arm();
  }
}

function serveConnection(conn: Conn, handle: TcpListenOptions['handle'], o: TcpOptions, idleMs: number, stats: ListenerStats, budget: TurnBudget): void {
  const { socket } = conn;
  const client = socket.remoteAddress ?? '';
  // Bytes received and not yet answered: `buf` from `off`.
  let buf: Buffer | null = null;
  let off = 0;
  // When the message now incomplete began (0: none is), for the slow-sender deadline.
  let partialSince = 0;
  let waitingTurn = false;
  let pausedWrite = false;
  let pausedTurn = false;
  conn.waitingTurn = () => waitingTurn;
  const close = (reason: number) => {
    if (socket.destroyed) return;
    stats.tcpClosed[reason]!++;
    socket.destroy();
  };
  const flow = () => {
    if (pausedWrite || pausedTurn) socket.pause();
    else socket.resume();
  };
  socket.setTimeout(idleMs, () => close(pausedWrite ? TCP_CLOSE.backpressure : TCP_CLOSE.idle));
  socket.on('error', () => close(TCP_CLOSE.error));
  socket.on('drain', () => {
    if (!pausedWrite) return;
    pausedWrite = false;
    flow();
  });
  const write = (data: Buffer) => {
    if (socket.destroyed || socket.writableEnded) return;
    // A client that sends queries but does not read the answers would make us buffer without
    // bound: stop reading from it until it catches up (the idle timeout ends it if it never does).
    if (!socket.write(data) && socket.writableLength > o.maxWriteBuffer && !pausedWrite) {
      pausedWrite = true;
      flow();
    }
  };
  let clientEnded = false;
  // Our FIN goes out once nothing is owed: on close() (draining) or after the client's FIN.
  const endIfDone = () => {
    if ((conn.draining || clientEnded) && conn.inFlight === 0 && !waitingTurn && !socket.writableEnded) socket.end();
  };
  socket.on('end', () => {
    clientEnded = true;
    endIfDone();
  });
  const settled = () => {
    conn.inFlight--;
    endIfDone();
  };

  // Answers the complete messages received, as many as this turn's budget allows.
  const work = () => {
    waitingTurn = false;
    if (socket.destroyed || !buf) return;
    const out: Buffer[] = [];
    let done = 0;
    for (;;) {
      if (buf.length - off < 2) break;
      const len = buf.readUInt16BE(off);
      if (buf.length - off - 2 < len) break;
      if (done >= budget.perConnection || !budget.take()) {
        // More to answer than this turn allows: stop reading, come back in a later turn.
        if (out.length) write(frame(out));
        waitingTurn = pausedTurn = true;
        flow();
        budget.later(work);
        return;
      }
      const message = buf.subarray(off + 2, off + 2 + len);
      off += 2 + len;
      done++;
      const r = handle(message, 'tcp', client);
      if (r instanceof Promise) {
        conn.inFlight++;
        r.then((b) => b && write(frame([b])))
          .catch(() => undefined)
          .finally(settled);
      } else if (r) out.push(r);
    }
    if (out.length) write(frame(out));
    if (off < buf.length) {
      // A message is incomplete. Its deadline runs from its first byte and only complete
      // messages move it: a trickle of bytes does not (RFC 7766 §6.2.3, slow senders).
      const now = Date.now();
      if (partialSince === 0 || done > 0) partialSince = now;
      // Copy the tail so a large read is not kept alive by a few leftover bytes.
      buf = Buffer.from(buf.subarray(off));
      off = 0;
      if (now - partialSince > o.frameTimeoutMs) return void close(TCP_CLOSE.slow);
    } else {
      buf = null;
      off = 0;
      partialSince = 0;
    }
    if (pausedTurn) {
      pausedTurn = false;
      flow();
    }
    endIfDone();
  };

  socket.on('data', (chunk: Buffer) => {
    if (socket.writableEnded) return; // draining and ended: read to the client's FIN, answer nothing
    if (buf && off < buf.length) {
      buf = Buffer.concat([buf.subarray(off), chunk]);
      off = 0;
    } else {
      buf = chunk;
      off = 0;
    }
    if (waitingTurn) return; // already queued for a later turn
    if (budget.busy) {
      waitingTurn = pausedTurn = true;
      flow();
      budget.later(work);
      return;
    }
    work();
  });
}

// Prefixes each message with its length and joins them, so one read gets one write.
function frame(messages: Buffer[]): Buffer {
  let size = 0;
  for (const m of messages) size += 2 + m.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const m of messages) {
    out.writeUInt16BE(m.length, at);
    m.copy(out, at + 2);
    at += 2 + m.length;
  }
  return out;
}

function noStats(): ListenerStats {
  return { dropped: new Float64Array(3), ratelimitSlips: 0, tcpOpen: 0, tcpAccepted: 0, tcpClosed: new Float64Array(5) };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
