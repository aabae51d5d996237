/**
 * The relay's sockets on Bun's own TCP (Bun.listen): fewer layers per read than node:net, which
 * matters for a relay that does little else than read and write (docs/BENCHMARKS.md, the relay).
 */
import { NO_HANDLERS, type PeerListener, type PeerSocket, plainHost } from "./peer.ts";

type BunSocket = import("bun").Socket<BunPeer>;

class BunPeer implements PeerSocket {
  readonly host: string;
  readonly port: number;
  handlers = NO_HANDLERS;
  /** Bytes the kernel did not take yet, oldest first. */
  private pending: Uint8Array[] = [];
  private ending = false;
  private gone = false;

  constructor(private readonly socket: BunSocket) {
    this.host = plainHost(socket.remoteAddress);
    this.port = socket.remotePort;
    socket.setNoDelay(true);
  }

  write(chunk: Uint8Array): boolean {
    if (this.gone) return true;
    if (this.pending.length > 0) {
      this.pending.push(chunk);
      return false;
    }
    const n = this.socket.write(chunk);
    if (n >= chunk.byteLength) return true;
    this.pending.push(chunk.subarray(Math.max(0, n)));
    return false;
  }

  end(): void {
    if (this.pending.length > 0) this.ending = true;
    // shutdown(), not end(): end() closes both directions on Bun, shutdown() sends FIN and keeps reading.
    else this.socket.shutdown();
  }

  destroy(): void {
    this.socket.terminate();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  onDrain(): void {
    while (this.pending.length > 0) {
      const head = this.pending[0]!;
      const n = this.socket.write(head);
      if (n < head.byteLength) {
        this.pending[0] = head.subarray(Math.max(0, n));
        return;
      }
      this.pending.shift();
    }
    if (this.ending) this.socket.shutdown();
    this.handlers.drain();
  }

  onClose(err?: Error): void {
    if (this.gone) return;
    this.gone = true;
    this.pending = [];
    this.handlers.close(err !== undefined);
  }
}

export async function bunListen(host: string, port: number, onPeer: (peer: PeerSocket) => void): Promise<PeerListener> {
  const open = new Set<BunSocket>();
  const server = Bun.listen<BunPeer>({
    hostname: host,
    port,
    allowHalfOpen: true,
    socket: {
      open(socket) {
        open.add(socket);
        socket.data = new BunPeer(socket);
        onPeer(socket.data);
      },
      data: (socket, chunk) => socket.data.handlers.data(chunk),
      drain: (socket) => socket.data.onDrain(),
      end: (socket) => socket.data.handlers.end(),
      close: (socket, err) => {
        open.delete(socket);
        socket.data.onClose(err);
      },
      error: () => {},
    },
  });
  return {
    port: server.port,
    close: async () => {
      server.stop(true);
      for (const s of open) s.terminate();
    },
  };
}
