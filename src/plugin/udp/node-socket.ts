/**
 * node:dgram adapter: the portable path (Node, Deno, Bun) and, on Bun, the one that can size the
 * kernel receive buffer. Sends are asynchronous, so it bounds the datagrams queued in libuv itself.
 */
import { createSocket, type Socket } from "node:dgram";
import {
  closeAfterSends,
  isIpv6,
  type RawUdpHandlers,
  type RawUdpOpener,
  type RawUdpSocket,
  type UdpPeer,
} from "./socket.ts";

/** Datagrams handed to libuv and not yet sent; beyond this send() reports backpressure. */
const MAX_QUEUED = 512;

export const openNodeUdp: RawUdpOpener = async (at, handlers: RawUdpHandlers, options) => {
  // Deno accepts a buffer size here without applying it, and its receive path then stalls
  // (RUNTIME-FACTS.md): leave Deno's kernel default alone.
  const sized = !("Deno" in globalThis);
  const socket: Socket = createSocket({
    type: isIpv6(at.host) ? "udp6" : "udp4",
    recvBufferSize: sized ? options.recvBufferBytes : undefined,
    sendBufferSize: sized ? options.sendBufferBytes : undefined,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(at.port, at.host, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  const connected = options.connect;
  if (connected)
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.connect(connected.port, connected.address, () => {
        socket.off("error", reject);
        resolve();
      });
    });
  socket.on("message", (msg, rinfo) => {
    // rinfo.size is the datagram's size on the wire; a shorter buffer means it was cut.
    handlers.onDatagram(msg, { address: rinfo.address, port: rinfo.port }, msg.byteLength < rinfo.size);
  });
  socket.on("error", (err) => handlers.onError(err));
  let queued = 0;
  let blocked = false;
  let closing: { settled(): void } | null = null;
  let whenSent: (() => void)[] = [];
  const onSent = () => {
    queued--;
    closing?.settled();
    if (queued === 0 && whenSent.length > 0) {
      for (const resolve of whenSent) resolve();
      whenSent = [];
    }
    if (blocked && queued <= MAX_QUEUED / 2) {
      blocked = false;
      handlers.onWritable();
    }
  };
  const address = socket.address();
  const raw: RawUdpSocket = {
    local: { host: address.address, port: address.port },
    impl: "node",
    send(datagrams: readonly Uint8Array[], to: UdpPeer): number {
      let sent = 0;
      for (const d of datagrams) {
        if (queued >= MAX_QUEUED) {
          blocked = true;
          break;
        }
        queued++;
        if (connected) socket.send(d, onSent);
        else socket.send(d, to.port, to.address, onSent);
        sent++;
      }
      return sent;
    },
    setTtl: (ttl) => socket.setTTL(ttl),
    sent: () => (queued === 0 ? Promise.resolve() : new Promise<void>((resolve) => whenSent.push(resolve))),
    close() {
      if (closing) return;
      closing = closeAfterSends(
        () => queued,
        () => {
          try {
            socket.close();
          } catch {
            // already closed
          }
        },
      );
    },
  };
  return raw;
};
