/** The relay's sockets on node:net (Deno, Node; Bun with XFER_TCP_PORTABLE). */
import { createServer } from "node:net";
import { NO_HANDLERS, type PeerListener, type PeerSocket, plainHost } from "./peer.ts";

export function nodeListen(host: string, port: number, onPeer: (peer: PeerSocket) => void): Promise<PeerListener> {
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    const peer: PeerSocket = {
      host: plainHost(socket.remoteAddress),
      port: socket.remotePort ?? 0,
      write: (chunk) => socket.write(chunk),
      end: () => socket.end(),
      destroy: () => socket.destroy(),
      pause: () => socket.pause(),
      resume: () => socket.resume(),
      handlers: NO_HANDLERS,
    };
    socket.on("data", (chunk: Buffer) => peer.handlers.data(chunk));
    socket.on("end", () => peer.handlers.end());
    socket.on("drain", () => peer.handlers.drain());
    socket.on("close", (hadError: boolean) => peer.handlers.close(hadError));
    socket.on("error", () => {});
    onPeer(peer);
  });
  const open = new Set<import("node:net").Socket>();
  server.on("connection", (s) => {
    open.add(s);
    s.on("close", () => open.delete(s));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const bound = server.address();
      resolve({
        port: typeof bound === "object" && bound !== null ? bound.port : port,
        close: () => {
          const closed = new Promise<void>((r) => server.close(() => r()));
          for (const s of open) s.destroy();
          return closed;
        },
      });
    });
  });
}
