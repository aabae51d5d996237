/**
 * Bun.udpSocket adapter: batched sends (sendMany) are the fastest way to move datagrams on Bun.
 * It cannot set SO_RCVBUF (the kernel default stays), so ports that mostly receive use node:dgram.
 * Its sends are synchronous (sendmmsg, or nothing at a full socket buffer): what it took is copied.
 */
import type { RawUdpHandlers, RawUdpOpener, RawUdpSocket, UdpPeer } from "./socket.ts";

export const openBunUdp: RawUdpOpener = async (at, handlers: RawUdpHandlers, options) => {
  const handler = {
    data(_s: unknown, data: Uint8Array, port: number, address: string, flags?: { truncated?: boolean }) {
      handlers.onDatagram(data, { address, port }, flags?.truncated === true);
    },
    drain() {
      handlers.onWritable();
    },
    // Bun 1.4 calls this without an error object for ICMP errors on a connected socket.
    error(_s: unknown, err?: Error) {
      handlers.onError(err ?? new Error("ICMP error from the peer (port unreachable?)"));
    },
  };
  const base = { hostname: at.host, port: at.port, binaryType: "uint8array" as const, socket: handler };
  if (options.connect) {
    const socket = await Bun.udpSocket({
      ...base,
      connect: { hostname: options.connect.address, port: options.connect.port },
    });
    return {
      local: { host: socket.address.address, port: socket.port },
      impl: "bun",
      copiesOnSend: true,
      send: (datagrams) =>
        datagrams.length === 1 ? (socket.send(datagrams[0] as Uint8Array) ? 1 : 0) : socket.sendMany(datagrams),
      close: () => socket.close(),
    } satisfies RawUdpSocket;
  }
  const socket = await Bun.udpSocket(base);
  const flat: (Uint8Array | string | number)[] = [];
  return {
    local: { host: socket.address.address, port: socket.port },
    impl: "bun",
    copiesOnSend: true,
    send(datagrams: readonly Uint8Array[], to: UdpPeer): number {
      if (datagrams.length === 1) return socket.send(datagrams[0] as Uint8Array, to.port, to.address) ? 1 : 0;
      flat.length = 0;
      for (const d of datagrams) flat.push(d, to.port, to.address);
      const sent = socket.sendMany(flat);
      flat.length = 0;
      return sent;
    },
    close() {
      socket.close();
    },
  } satisfies RawUdpSocket;
};
