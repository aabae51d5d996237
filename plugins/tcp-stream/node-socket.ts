/** The portable tcp-stream adapter: node:net, which Bun, Deno and Node all provide. */
import { connect, createServer, type Socket } from "node:net";
import type { Endpoint, Listener, StreamConnection } from "../../src/plugin/api.ts";

export async function nodeListen(at: Endpoint, onConnection: (conn: StreamConnection) => void): Promise<Listener> {
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
  // server.close() stops accepting at once but calls back only when every connection has ended:
  // the API wants close() to return promptly and leave open connections alone.
  return {
    address,
    close: async () => {
      server.close();
    },
  };
}

export function nodeDial(to: Endpoint, timeoutMs: number, signal: AbortSignal): Promise<StreamConnection> {
  return new Promise<StreamConnection>((resolve, reject) => {
    const socket = connect({ host: to.host, port: to.port, allowHalfOpen: true, noDelay: true });
    const fail = (err: Error) => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onAbort = () => fail(new Error("dial aborted"));
    const timer = setTimeout(() => fail(connectTimeout(to, timeoutMs)), timeoutMs);
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
}

export function connectTimeout(to: Endpoint, timeoutMs: number): Error {
  const err = new Error(`no TCP answer from ${to.host}:${to.port} after ${timeoutMs / 1000}s`) as NodeJS.ErrnoException;
  err.code = "ETIMEDOUT";
  return err;
}

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
    // Not `socket` itself: leaving a for-await over a socket destroys it, which would also end our
    // half of a half-closed connection.
    readable: {
      [Symbol.asyncIterator]: () =>
        (socket as unknown as { iterator(o: { destroyOnReturn: boolean }): AsyncIterator<Uint8Array> }).iterator({
          destroyOnReturn: false,
        }),
    },
    async write(chunk) {
      if (failure) throw failure;
      // node:net may keep the chunk in its own buffer after write() returns; the API lets the caller
      // reuse it once we resolve, so wait until node has handed it to the kernel.
      await new Promise<void>((resolve, reject) => {
        socket.write(chunk, (err) => (err ? reject(err) : resolve()));
      });
    },
    async end() {
      if (failure) throw failure;
      if (socket.writableFinished) return;
      const finished = waitFor("finish");
      socket.end();
      await finished;
    },
    destroy(reason) {
      // A reset, not a FIN: the peer must see an error, not a clean end (where the runtime has it).
      const reset = (socket as Socket & { resetAndDestroy?: () => void }).resetAndDestroy;
      if (reset && !socket.destroyed && socket.readyState !== "opening") reset.call(socket);
      else socket.destroy(reason);
    },
  };
}
