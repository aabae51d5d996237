/**
 * The runtime seam for UDP: one small interface, one adapter per runtime API (Bun.udpSocket,
 * node:dgram, Deno.listenDatagram). Everything above it (port sharing, protocols) is runtime-neutral.
 */
import type { Endpoint } from "../endpoint.ts";

/** Where a datagram came from or goes to: an IP literal and a port. */
export interface UdpPeer {
  address: string;
  port: number;
}

export interface RawUdpHandlers {
  /** One datagram. `data` is the caller's to keep. `truncated`: the kernel cut it (too big for the buffer). */
  onDatagram(data: Uint8Array, from: UdpPeer, truncated: boolean): void;
  /** The socket can take datagrams again after send() took fewer than offered. */
  onWritable(): void;
  /** On a connected socket: an ICMP error for the peer (typically port unreachable). */
  onError(err: Error): void;
}

export interface RawUdpSocket {
  readonly local: Endpoint;
  /** Which adapter this is ("bun", "node", "deno"), for stats and benchmarks. */
  readonly impl: string;
  /**
   * Hand datagrams to the kernel; returns how many it took now (a prefix of the list). The socket
   * may keep references until they leave: callers must not modify a datagram after passing it.
   */
  send(datagrams: readonly Uint8Array[], to: UdpPeer): number;
  /**
   * True where send() has copied the datagrams it took before it returns (a synchronous sendmmsg):
   * the caller may then reuse their memory at once. Absent: the references are kept (see send).
   */
  readonly copiesOnSend?: boolean;
  /** The IP TTL of unicast sends from now on, where the runtime lets us set it (node:dgram does). */
  setTtl?(ttl: number): void;
  /**
   * Resolves once every datagram handed to send() so far has gone to the kernel: for an adapter whose
   * send() only queues (node:dgram). Absent where send() is synchronous.
   */
  sent?(): Promise<void>;
  close(): void;
}

/**
 * A receive buffer that absorbs a few milliseconds of a fast sender while the process is busy: what
 * the built-in UDP transports ask for, and a sensible start for others (the kernel may cap it).
 */
export const UDP_RECV_BUFFER_BYTES = 4 * 1024 * 1024;

export interface RawUdpOptions {
  /** SO_RCVBUF to ask for (bytes). Kernel drops at a full receive buffer look exactly like loss. */
  recvBufferBytes?: number;
  sendBufferBytes?: number;
  /**
   * Connect the socket to this one peer: the kernel then reports ICMP errors (port unreachable)
   * for it, so a dial to a port nobody listens on fails at once instead of timing out.
   */
  connect?: UdpPeer;
  /**
   * The socket must be able to set its IP TTL (setTtl: hole punching's low-TTL probes). Only the
   * node:dgram adapter can, on every runtime (Deno.listenDatagram and Bun's native socket cannot).
   */
  ttl?: boolean;
}

export type RawUdpOpener = (at: Endpoint, handlers: RawUdpHandlers, options: RawUdpOptions) => Promise<RawUdpSocket>;

/**
 * A loopback peer: its MTU is 64 KiB and nothing fragments, so a transport may use datagrams far
 * larger than Ethernet's there (per-datagram CPU cost is what limits loopback).
 */
export function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1" || address.startsWith("::ffff:127.");
}

/** IPv6 literals contain a colon; everything else binds IPv4. */
export function isIpv6(host: string): boolean {
  return host.includes(":");
}

/** How long a closing socket waits for datagrams still queued in the runtime to leave. */
export const CLOSE_FLUSH_MS = 1000;
const flushing = new Set<Promise<void>>();

/**
 * Close once the datagrams handed to an asynchronous send have left (at most CLOSE_FLUSH_MS): a
 * last answer sent just before close — a reject, a final report — would otherwise be cancelled
 * in the runtime's queue and never reach the peer. `pending()` counts sends not yet settled;
 * call `settled()` from the adapter's send callback so the wait ends as soon as they have.
 */
export function closeAfterSends(pending: () => number, close: () => void): { settled(): void } {
  if (pending() === 0) {
    close();
    return { settled() {} };
  }
  let done: () => void = () => {};
  const flushed = new Promise<void>((resolve) => {
    const timer = setTimeout(finish, CLOSE_FLUSH_MS);
    function finish() {
      clearTimeout(timer);
      close();
      flushing.delete(flushed);
      resolve();
    }
    done = finish;
  });
  flushing.add(flushed);
  return {
    settled() {
      if (pending() === 0) done();
    },
  };
}

/** Resolves when every socket closed with sends in flight has let them go: a transport's settle(). */
export async function udpSendsFlushed(): Promise<void> {
  await Promise.all([...flushing]);
}
