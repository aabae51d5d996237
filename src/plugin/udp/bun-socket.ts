/**
 * Bun.udpSocket adapter: batched sends (sendMany) are the fastest way to move datagrams on Bun.
 * It cannot set SO_RCVBUF (the kernel default stays), so ports that mostly receive use node:dgram.
 */
import type { RawUdpHandlers, RawUdpOpener, RawUdpSocket, UdpPeer } from "./socket.ts";

export const openBunUdp: RawUdpOpener = async (at, handlers: RawUdpHandlers) => {
  const socket = await Bun.udpSocket({
    hostname: at.host,
    port: at.port,
    binaryType: "uint8array",
    socket: {
      data(_s, data, port, address, flags) {
        handlers.onDatagram(data, { address, port }, flags?.truncated === true);
      },
      drain() {
        handlers.onWritable();
      },
      error(_s, err) {
        handlers.onError(err);
      },
    },
  });
  const flat: (Uint8Array | string | number)[] = [];
  const raw: RawUdpSocket = {
    local: { host: socket.address.address, port: socket.port },
    impl: "bun",
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
  };
  return raw;
};
