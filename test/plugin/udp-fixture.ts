/**
 * A minimal datagram transport over node:dgram, so the kit's datagram cases have something to run
 * against until a built-in datagram transport exists. One socket per listener, one per dial.
 */
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import type { DatagramConnection, TransportDefinition } from "../../src/plugin/api.ts";

const MAX = 1200;

/** Datagrams for one peer, pulled by an async iterator; ends on close(). */
class Inbox implements AsyncIterable<Uint8Array> {
  private readonly queue: Uint8Array[] = [];
  private wake: (() => void) | null = null;
  closed = false;

  push(d: Uint8Array): void {
    if (this.closed) return;
    this.queue.push(d);
    this.wake?.();
  }

  close(): void {
    this.closed = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const next = this.queue.shift();
      if (next) yield next;
      else if (this.closed) return;
      else await new Promise<void>((r) => (this.wake = r));
    }
  }
}

function connection(
  socket: Socket,
  to: { address: string; port: number },
  onClose: () => void,
): DatagramConnection & { inbox: Inbox } {
  const inbox = new Inbox();
  return {
    inbox,
    remote: `${to.address}:${to.port}`,
    maxDatagramSize: MAX,
    datagrams: inbox,
    async send(datagrams) {
      for (const d of datagrams) {
        if (d.byteLength > MAX) throw new Error(`datagram of ${d.byteLength} bytes exceeds ${MAX}`);
        await new Promise<void>((resolve, reject) =>
          socket.send(d, to.port, to.address, (e) => (e ? reject(e) : resolve())),
        );
      }
    },
    close() {
      if (inbox.closed) return;
      inbox.close();
      onClose();
    },
  };
}

export const udpFixture: TransportDefinition<"datagram"> = {
  name: "udp-fixture",
  description: "test fixture: plain UDP datagrams",
  apiVersion: 1,
  kind: "datagram",
  async listen(at, _ctx, onConnection) {
    const socket = createSocket("udp4");
    const peers = new Map<string, ReturnType<typeof connection>>();
    socket.on("message", (msg: Buffer, from: RemoteInfo) => {
      const key = `${from.address}:${from.port}`;
      let conn = peers.get(key);
      if (!conn) {
        conn = connection(socket, from, () => peers.delete(key));
        peers.set(key, conn);
        onConnection(conn);
      }
      conn.inbox.push(new Uint8Array(msg));
    });
    await new Promise<void>((r) => socket.bind(at.port, at.host, r));
    return {
      address: { host: at.host, port: socket.address().port },
      // Accepted peers share this socket: it closes with the listener, their inboxes end.
      close: async () => {
        for (const c of peers.values()) c.close();
        socket.close();
      },
    };
  },
  async dial(to, _ctx, signal) {
    if (signal.aborted) throw new Error("dial aborted");
    const socket = createSocket("udp4");
    await new Promise<void>((r) => socket.bind(0, "127.0.0.1", r));
    const conn = connection(socket, { address: to.host, port: to.port }, () => socket.close());
    socket.on("message", (msg: Buffer) => conn.inbox.push(new Uint8Array(msg)));
    return conn;
  },
};

export default udpFixture;
