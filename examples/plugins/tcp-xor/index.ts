/**
 * tcp-xor: TCP with every byte XORed by a key on the wire (a toy obfuscation): a complete xfer
 * transport plugin. Try it with --plugin, check it with `xfer plugin check`; key: --transport-opt xorKey=90
 */
import { connect, createServer, type Socket } from "node:net";
import type { StreamConnection, TransportContext, TransportDefinition } from "xfer/plugin";

const keyOf = (ctx: TransportContext) => Number(ctx.options.extra.xorKey ?? 0x5a) & 0xff;

/** A copy with every byte XORed: the caller may reuse its chunk once write() resolves. */
function xor(bytes: Uint8Array, key: number): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  for (let i = 0; i < bytes.byteLength; i++) out[i] = bytes[i]! ^ key;
  return out;
}

function wrap(socket: Socket, key: number): StreamConnection {
  socket.setNoDelay(true);
  // Errors reach the caller through the iterator and write callbacks; unheard, node would throw them.
  socket.on("error", () => {});
  // destroyOnReturn: false, or reaching the end of the input would destroy our sending side too.
  const incoming = socket.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>;
  return {
    remote: `${socket.remoteAddress}:${socket.remotePort}`,
    readable: (async function* () {
      for await (const chunk of incoming) yield xor(chunk, key);
    })(),
    // Resolving when the bytes reached the kernel is what gives the writer backpressure.
    write: (chunk) =>
      new Promise((resolve, reject) => {
        if (socket.destroyed) return reject(new Error("connection closed"));
        socket.write(xor(chunk, key), (err) => (err ? reject(err) : resolve()));
      }),
    end: () =>
      new Promise((resolve, reject) => {
        if (socket.destroyed) return reject(new Error("connection closed"));
        socket.end(() => (socket.errored ? reject(socket.errored) : resolve()));
      }),
    // A TCP reset, so the peer sees an error rather than a clean end.
    destroy: () => void (socket.destroyed || socket.resetAndDestroy()),
  };
}

export default {
  name: "tcp-xor",
  description: "TCP with every byte XORed by a key (an example plugin)",
  apiVersion: 1,
  kind: "stream",
  async listen(at, ctx, onConnection) {
    const server = createServer({ allowHalfOpen: true }, (socket) => onConnection(wrap(socket, keyOf(ctx))));
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(at.port, at.host, resolve));
    const bound = server.address();
    const port = typeof bound === "object" && bound ? bound.port : at.port;
    return {
      address: { host: at.host, port },
      // Stops accepting at once; its callback would wait for open connections, which stay open.
      close: async () => void server.close(),
    };
  },

  dial: (to, ctx, signal) =>
    new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new Error("dial aborted"));
      const socket = connect({ host: to.host, port: to.port, allowHalfOpen: true });
      const onAbort = () => {
        socket.destroy();
        reject(new Error("dial aborted"));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      socket.once("error", (err) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      });
      socket.once("connect", () => {
        signal.removeEventListener("abort", onAbort);
        resolve(wrap(socket, keyOf(ctx)));
      });
    }),
} satisfies TransportDefinition<"stream">;
