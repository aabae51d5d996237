/** The relay's UDP socket on its TCP port (reflection, docs/PROTOCOL.md §4.2): node:dgram on every runtime. */
import { createSocket } from "node:dgram";
import { isIPv6 } from "node:net";
import { plainHost } from "./peer.ts";

export interface RelayUdp {
  close(): void;
}

/** Binds `host:port` for UDP; each datagram goes to `onDatagram`, whose non-null answer goes back. */
export function udpListen(
  host: string,
  port: number,
  onDatagram: (data: Uint8Array, from: { address: string; port: number }) => Uint8Array | null,
): Promise<RelayUdp> {
  const socket = createSocket({ type: isIPv6(host) ? "udp6" : "udp4" });
  socket.on("message", (data, rinfo) => {
    const reply = onDatagram(data, { address: plainHost(rinfo.address), port: rinfo.port });
    if (reply) socket.send(reply, rinfo.port, rinfo.address, () => {});
  });
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(port, host, () => {
      socket.off("error", reject);
      // A send that fails (ICMP for an earlier reply) is not the relay's problem.
      socket.on("error", () => {});
      resolve({ close: () => socket.close() });
    });
  });
}
