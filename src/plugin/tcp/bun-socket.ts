/** The Bun fast path of the TCP helpers: Bun.listen / Bun.connect. */

import type { Endpoint, StreamConnection } from "../api.ts";
import { AsyncQueue } from "../async-queue.ts";
import { handOver } from "../owned-chunks.ts";
import { connectTimeout } from "./node-socket.ts";
import { PendingRoute, type Routing, type TcpServer } from "./routing.ts";

type BunSocket = import("bun").Socket<Conn>;

/** Per-socket state, kept in socket.data so Bun can share one handler set among all sockets. */
class Conn implements StreamConnection {
  /** Above 4 MiB unread the socket is paused (the peer then feels TCP backpressure), below 1 MiB resumed. */
  readonly readable: AsyncQueue<Uint8Array>;
  remote = "";
  /** Bytes not yet accepted by the kernel, oldest first; write() waits until this drains. */
  private pending: Uint8Array[] = [];
  /**
   * Writers waiting for the kernel to take `pending`. A list, not one slot: the session writes
   * control messages (pings) while a data write waits, and a second waiter must not replace the first.
   */
  private drained: (() => void)[] = [];
  private failure: Error | null = null;
  private closed = false;
  private socket: BunSocket | null = null;
  /** Set on an accepted socket until its preamble routed it; its bytes go there meanwhile. */
  route: PendingRoute | null = null;

  constructor() {
    this.readable = new AsyncQueue<Uint8Array>({
      watermarks: {
        sizeOf: (c) => c.byteLength,
        highWaterBytes: 4 << 20,
        lowWaterBytes: 1 << 20,
        pause: () => this.socket?.pause(),
        resume: () => this.socket?.resume(),
      },
    });
  }

  attach(socket: BunSocket): void {
    this.socket = socket;
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.closed || !this.socket) throw new Error("connection closed");
    if (this.pending.length === 0) {
      const n = this.socket.write(chunk);
      if (n === chunk.byteLength) return;
      this.pending.push(chunk.subarray(Math.max(0, n)));
    } else {
      this.pending.push(chunk);
    }
    await this.waitDrained();
  }

  async end(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.pending.length) await this.waitDrained();
    // shutdown(), not end(): end() closes both directions on Bun, shutdown() sends FIN and keeps reading.
    this.socket?.shutdown();
  }

  destroy(reason?: Error): void {
    this.fail(reason ?? new Error("connection destroyed"));
    this.socket?.terminate();
  }

  /** Called by Bun when the kernel can take more: push what is queued. */
  onDrain(): void {
    while (this.pending.length && this.socket) {
      const head = this.pending[0]!;
      const n = this.socket.write(head);
      if (n < head.byteLength) {
        this.pending[0] = head.subarray(Math.max(0, n));
        return;
      }
      this.pending.shift();
    }
    for (const d of this.drained.splice(0)) d();
  }

  fail(err: Error): void {
    this.failure ??= err;
    this.readable.fail(err);
    for (const d of this.drained.splice(0)) d();
  }

  onClose(err?: Error): void {
    this.closed = true;
    if (err) this.fail(err);
    else this.readable.end();
    if (this.pending.length) this.fail(new Error("connection closed with unsent data"));
  }

  private waitDrained(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.drained.push(() => (this.failure ? reject(this.failure) : resolve()));
    });
  }
}

const handlers = {
  data(socket: BunSocket, data: Uint8Array) {
    // Bun copies what it read into a fresh buffer for each call: its reader may free it when done.
    handOver(data);
    const conn = socket.data;
    if (conn.route) conn.route.feed(data);
    else conn.readable.push(data);
  },
  drain(socket: BunSocket) {
    socket.data.onDrain();
  },
  end(socket: BunSocket) {
    if (socket.data.route) socket.data.route.peerEnded();
    else socket.data.readable.end();
  },
  close(socket: BunSocket, err?: Error) {
    socket.data.route?.abandon();
    socket.data.onClose(err);
  },
  error(socket: BunSocket, err: Error) {
    socket.data.fail(err);
  },
};

export async function bunServe(at: Endpoint, routing: Routing): Promise<TcpServer> {
  const server = Bun.listen<Conn>({
    hostname: at.host,
    port: at.port,
    allowHalfOpen: true,
    socket: {
      ...handlers,
      open(socket) {
        const conn = new Conn();
        socket.data = conn;
        conn.attach(socket);
        conn.route = new PendingRoute(
          routing,
          () => socket.terminate(),
          (claim, rest) => {
            conn.route = null;
            if (rest.byteLength) conn.readable.push(rest);
            claim(conn);
          },
        );
      },
    },
  });
  return { address: { host: server.hostname, port: server.port }, close: () => server.stop(false) };
}

/** Connect and send `preamble` first. */
export function bunDial(
  to: Endpoint,
  preamble: Uint8Array,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<StreamConnection> {
  const conn = new Conn();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const connecting = Bun.connect<Conn>({
    hostname: to.host,
    port: to.port,
    allowHalfOpen: true,
    data: conn,
    socket: {
      ...handlers,
      open(socket) {
        conn.attach(socket);
        // Queued ahead of anything the caller writes; a failure shows on the caller's next call.
        conn.write(preamble).catch(() => {});
      },
      connectError(_socket, err) {
        conn.fail(err);
      },
    },
  });
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(connectTimeout(to, timeoutMs)), timeoutMs);
    signal.addEventListener("abort", () => reject(new Error("dial aborted")), { once: true });
  });
  return Promise.race([connecting, timeout])
    .then(() => conn as StreamConnection)
    .catch((err: unknown) => {
      void connecting.then((s) => s.terminate()).catch(() => {});
      throw err;
    })
    .finally(() => clearTimeout(timer));
}
