/** The relay's UDP sockets on its TCP port (reflection, docs/PROTOCOL.md §4.2): node:dgram on every runtime. */
import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import { networkInterfaces } from "node:os";
import { plainHost } from "./peer.ts";

export interface RelayUdp {
  close(): void;
}

type OnDatagram = (data: Uint8Array, from: { address: string; port: number }) => Uint8Array | null;

/**
 * Binds `host:port` for UDP; each datagram goes to `onDatagram`, whose non-null answer goes back. A
 * wildcard host binds each interface address instead: an answer from a wildcard socket leaves with
 * the address of the route out, which on a machine with several is not the one the request was sent
 * to, and a NAT drops a reply from an address it did not send to. (Addresses added later are not served.)
 */
export async function udpListen(host: string, port: number, onDatagram: OnDatagram): Promise<RelayUdp> {
  const hosts = host === "0.0.0.0" || host === "::" ? interfaceAddresses(host === "::") : [host];
  const sockets: Socket[] = [];
  try {
    for (const h of hosts) sockets.push(await bindOne(h, port, onDatagram));
  } catch (err) {
    for (const s of sockets) s.close();
    throw err;
  }
  return {
    close() {
      for (const s of sockets) s.close();
    },
  };
}

function interfaceAddresses(withV6: boolean): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces()))
    for (const i of list ?? []) {
      if (i.family === "IPv4" || (i as { family: unknown }).family === 4) out.push(i.address);
      else if (withV6 && !i.address.startsWith("fe80")) out.push(i.address);
    }
  return [...new Set(out)];
}

function bindOne(host: string, port: number, onDatagram: OnDatagram): Promise<Socket> {
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
      resolve(socket);
    });
  });
}
