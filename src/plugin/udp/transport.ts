/**
 * The skeleton every UDP transport shares, so each one writes only its protocol: a listener on the
 * shared port that claims its own datagrams, fans "writable" out to its connections and, once
 * closed, keeps the socket until its last connection has ended; and a dialer's port connected to
 * one peer that claims only that peer's datagrams. A truncated datagram (larger than the receive
 * size) is claimed and dropped whole, never parsed.
 */
import type { Endpoint, Listener, UdpPath } from "../api.ts";
import { bindUdp, resolvePeer, type UdpPort, wildcardFor } from "./port.ts";
import { UDP_RECV_BUFFER_BYTES, type UdpPeer } from "./socket.ts";

export interface UdpListenSpec {
  /** True for this transport's datagrams on the shared port (its magic first byte, say). */
  owns(data: Uint8Array): boolean;
  /** One whole datagram of ours, to route to (or make) a connection. */
  receive(data: Uint8Array, from: UdpPeer): void;
  /** The port takes datagrams again: wake every connection that was blocked sending. */
  onWritable(): void;
  /** Connections still alive; a closed listener's socket lives until this is 0. */
  live(): number;
  /** close() was called: refuse dials from now on (a transport with its own accept logic; see `closing`). */
  stopAccepting?(): void;
}

export interface UdpListening {
  port: UdpPort;
  listener: Listener;
  /** Call whenever a connection ends, so a closed listener can release the socket. */
  released(): void;
  /** True once listener.close() was called: a new peer is not to be accepted. */
  readonly closing: boolean;
}

/** With `path` (a punched socket the core hands over), listens on it instead of binding `at`. */
export async function listenUdpTransport(at: Endpoint, spec: UdpListenSpec, path?: UdpPath): Promise<UdpListening> {
  const port = path?.port ?? (await bindUdp(at, { shared: true, recvBufferBytes: UDP_RECV_BUFFER_BYTES }));
  let closing = false;
  let closed = false;
  const detach = port.attach({
    claim(data, from, truncated) {
      if (!spec.owns(data)) return false;
      if (!truncated) spec.receive(data, from);
      return true;
    },
    onWritable: () => spec.onWritable(),
  });
  const released = () => {
    if (!closing || closed || spec.live() > 0) return;
    closed = true;
    detach();
    port.close();
  };
  return {
    port,
    released,
    get closing() {
      return closing;
    },
    listener: {
      address: port.local,
      async close() {
        closing = true;
        spec.stopAccepting?.();
        released();
      },
    },
  };
}

export interface UdpDialSpec {
  owns(data: Uint8Array): boolean;
  /** One whole datagram of ours from the peer. */
  receive(data: Uint8Array): void;
  onWritable(): void;
  /** An ICMP error (e.g. port unreachable) for the peer. */
  onError?(err: Error): void;
}

/**
 * Resolves the peer and opens a port connected to it; `attach` then claims its datagrams. With `path`
 * (a punched socket, not connected: other peers' datagrams reach it too), sends from that socket and
 * claims only what comes from the peer's address and port.
 */
export async function dialUdpPort(
  to: Endpoint,
  signal: AbortSignal,
  path?: UdpPath,
): Promise<{ peer: UdpPeer; port: UdpPort; attach(spec: UdpDialSpec): () => void }> {
  const peer = await resolvePeer(to);
  signal.throwIfAborted();
  // A dialer mostly sends: the runtime's fastest socket for sending serves it (see bindUdp).
  const port = path?.port ?? (await bindUdp(wildcardFor(peer), { connect: peer }));
  return {
    peer,
    port,
    attach: (spec) =>
      port.attach({
        claim(data, from, truncated) {
          if (!spec.owns(data) || from.port !== peer.port || (path && from.address !== peer.address)) return false;
          if (!truncated) spec.receive(data);
          return true;
        },
        onWritable: () => spec.onWritable(),
        // A path's socket (hole punching) is unconnected and also probes other candidates: an error on
        // it (an ICMP for one of those) says nothing about this peer, so only a connected socket's counts.
        onError: spec.onError && !path ? (err) => spec.onError?.(err) : undefined,
      }),
  };
}
