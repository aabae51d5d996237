/** The portable adapter of the TCP helpers: node:net, which Bun, Deno and Node all provide. */
import { connect, createServer, type Socket } from "node:net";
import type { Endpoint, StreamConnection } from "../api.ts";
import { PendingRoute, type Routing, type TcpServer } from "./routing.ts";

export async function nodeServe(at: Endpoint, routing: Routing): Promise<TcpServer> {
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => route(socket, routing));
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
  return { address, close: () => void server.close() };
}

/** Read the preamble in flowing mode, then hand the socket over paused, with what followed it put back. */
function route(socket: Socket, routing: Routing): void {
  const onData = (chunk: Uint8Array) => pending.feed(chunk);
  const onEnd = () => pending.peerEnded();
  const onGone = () => pending.abandon();
  socket.on("data", onData);
  socket.once("end", onEnd);
  // Unheard, an error before routing would be thrown by node.
  socket.once("error", onGone);
  socket.once("close", onGone);
  const pending = new PendingRoute(
    routing,
    () => reset(socket),
    (claim, rest) => {
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("error", onGone);
      socket.off("close", onGone);
      socket.pause();
      if (rest.byteLength) socket.unshift(rest);
      claim(wrap(socket));
    },
  );
}

/** Connect and send `preamble` first. */
export function nodeDial(
  to: Endpoint,
  preamble: Uint8Array,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<StreamConnection> {
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
      socket.write(preamble);
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
    destroy: (reason) => reset(socket, reason),
  };
}

/** A reset, not a FIN: the peer must see an error, not a clean end (where the runtime has it). */
function reset(socket: Socket, reason?: Error): void {
  const rst = (socket as Socket & { resetAndDestroy?: () => void }).resetAndDestroy;
  if (rst && !socket.destroyed && socket.readyState !== "opening") rst.call(socket);
  else socket.destroy(reason);
}
