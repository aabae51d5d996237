/**
 * tcp-stream: the session's bytes over one TCP connection, as fast as the kernel allows.
 * node:net runs on Bun, Deno and Node alike; measured on Bun it reaches ~0.9x of Bun.connect
 * (2.5-2.8 against 2.7-3.3 GB/s on loopback), which is above what disks and hashing need.
 */
import { connect, createServer, type Socket } from "node:net";
import { defineTransport, type Endpoint, type StreamConnection, TRANSPORT_API_VERSION } from "../../src/plugin/api.ts";

/** How long to wait for a TCP handshake before calling the host unreachable. */
const CONNECT_TIMEOUT_MS = 10_000;

export default defineTransport({
  name: "tcp-stream",
  description: "plain TCP: one connection, as fast as the kernel allows",
  apiVersion: TRANSPORT_API_VERSION,
  kind: "stream",
  capabilities: { udpOnly: false, rateLimit: false },

  async listen(at, _ctx, onConnection) {
    const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => onConnection(wrap(socket)));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: at.host, port: at.port }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const addr = server.address();
    const address: Endpoint =
      addr && typeof addr === "object" ? { host: addr.address, port: addr.port } : { host: at.host, port: at.port };
    return {
      address,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  },

  dial(to, ctx, signal) {
    const timeoutMs = Number(ctx.options.extra.connectTimeoutMs ?? CONNECT_TIMEOUT_MS);
    return new Promise<StreamConnection>((resolve, reject) => {
      const socket = connect({ host: to.host, port: to.port, allowHalfOpen: true, noDelay: true });
      const fail = (err: Error) => {
        cleanup();
        socket.destroy();
        reject(err);
      };
      const onAbort = () => fail(new Error("dial aborted"));
      const timer = setTimeout(() => {
        const err = new Error(
          `no TCP answer from ${to.host}:${to.port} after ${timeoutMs / 1000}s`,
        ) as NodeJS.ErrnoException;
        err.code = "ETIMEDOUT";
        fail(err);
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        socket.off("error", fail);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      socket.once("error", fail);
      socket.once("connect", () => {
        cleanup();
        resolve(wrap(socket));
      });
    });
  },
});

function wrap(socket: Socket): StreamConnection {
  let failure: Error | null = null;
  const waiters = new Set<(err: Error | null) => void>();
  socket.on("error", (err) => {
    failure = err;
    for (const w of waiters) w(err);
  });
  socket.on("close", () => {
    const err = failure ?? new Error("connection closed");
    for (const w of waiters) w(err);
  });
  const waitFor = (event: "drain" | "finish") =>
    new Promise<void>((resolve, reject) => {
      const done = (err: Error | null) => {
        waiters.delete(done);
        socket.off(event, ok);
        if (err) reject(err);
        else resolve();
      };
      const ok = () => done(null);
      waiters.add(done);
      socket.once(event, ok);
    });

  return {
    remote: `${socket.remoteAddress}:${socket.remotePort}`,
    readable: socket as AsyncIterable<Uint8Array>,
    async write(chunk) {
      if (failure) throw failure;
      if (!socket.write(chunk)) await waitFor("drain");
    },
    async end() {
      if (failure) throw failure;
      if (socket.writableFinished) return;
      const finished = waitFor("finish");
      socket.end();
      await finished;
    },
    destroy(reason) {
      socket.destroy(reason);
    },
  };
}
