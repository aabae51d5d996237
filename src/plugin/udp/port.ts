/**
 * UDP ports for transports, with the runtime adapter picked at the edge. Several transports can
 * listen on one UDP port: each attaches a consumer that claims its own datagrams (by a magic first
 * byte, say), so `xfer recv` serves udp-raw and udp-reliable on the same port number as TCP.
 */
import { lookup } from "node:dns/promises";
import type { Endpoint } from "../endpoint.ts";
import { hasDenoDatagrams, openDenoUdp } from "./deno-socket.ts";
import { openNodeUdp } from "./node-socket.ts";
import { isIpv6, type RawUdpOpener, type RawUdpOptions, type RawUdpSocket, type UdpPeer } from "./socket.ts";

export type { UdpPeer } from "./socket.ts";

export interface UdpConsumer {
  /** Take the datagram (return true) or leave it to the next consumer. `data` is the consumer's to keep. */
  claim(data: Uint8Array, from: UdpPeer, truncated: boolean): boolean;
  /** The port can take datagrams again after a send() that took fewer than offered. */
  onWritable?(): void;
  /** An ICMP error for the connected peer (see BindOptions.connect). */
  onError?(err: Error): void;
}

export interface UdpPort {
  readonly local: Endpoint;
  /** The adapter in use ("bun", "node" or "deno"). */
  readonly impl: string;
  /** See RawUdpSocket.send: returns how many datagrams the kernel took now. */
  send(datagrams: readonly Uint8Array[], to: UdpPeer): number;
  /** See RawUdpSocket.copiesOnSend. */
  readonly copiesOnSend?: boolean;
  /** See RawUdpSocket.setTtl; false where the runtime's socket cannot. */
  setTtl(ttl: number): boolean;
  /** See RawUdpSocket.sent: resolves once what was sent so far has gone to the kernel. */
  sent(): Promise<void>;
  /** Start receiving; returns a function that detaches the consumer. */
  attach(consumer: UdpConsumer): () => void;
  /** Release this handle; the socket closes with its last handle. Idempotent. */
  close(): void;
}

export interface BindOptions extends RawUdpOptions {
  /** Let other transports in this process bind the same host:port and share the socket. Not with `connect`. */
  shared?: boolean;
}

/** A socket plus the consumers attached through any of its handles. */
class SharedSocket {
  readonly consumers: UdpConsumer[] = [];
  refs = 0;
  raw!: RawUdpSocket;
  /** Datagrams no consumer claimed (stray or hostile traffic). */
  unclaimed = 0;

  deliver(data: Uint8Array, from: UdpPeer, truncated: boolean): void {
    for (const c of this.consumers) if (c.claim(data, from, truncated)) return;
    this.unclaimed++;
  }

  writable(): void {
    for (const c of this.consumers) c.onWritable?.();
  }

  error(err: Error): void {
    for (const c of this.consumers) c.onError?.(err);
  }
}

const sharedSockets = new Map<string, Promise<SharedSocket>>();

export async function bindUdp(at: Endpoint, options: BindOptions = {}): Promise<UdpPort> {
  const key = `${at.host}|${at.port}`;
  let pending = options.shared && at.port !== 0 ? sharedSockets.get(key) : undefined;
  if (!pending) {
    pending = openShared(at, options);
    if (options.shared && at.port !== 0) {
      sharedSockets.set(key, pending);
      pending.catch(() => sharedSockets.delete(key));
    }
  }
  const entry = pending;
  const shared = await entry;
  shared.refs++;
  const mine = new Set<UdpConsumer>();
  let closed = false;
  return {
    local: shared.raw.local,
    impl: shared.raw.impl,
    copiesOnSend: shared.raw.copiesOnSend === true,
    send: (datagrams, to) => (closed ? 0 : shared.raw.send(datagrams, to)),
    sent: () => (closed ? Promise.resolve() : (shared.raw.sent?.() ?? Promise.resolve())),
    setTtl(ttl) {
      if (closed || !shared.raw.setTtl) return false;
      shared.raw.setTtl(ttl);
      return true;
    },
    attach(consumer) {
      shared.consumers.push(consumer);
      mine.add(consumer);
      return () => {
        mine.delete(consumer);
        const i = shared.consumers.indexOf(consumer);
        if (i >= 0) shared.consumers.splice(i, 1);
      };
    },
    close() {
      if (closed) return;
      closed = true;
      for (const c of mine) shared.consumers.splice(shared.consumers.indexOf(c), 1);
      mine.clear();
      if (--shared.refs === 0) {
        if (sharedSockets.get(key) === entry) sharedSockets.delete(key);
        shared.raw.close();
      }
    },
  };
}

async function openShared(at: Endpoint, options: RawUdpOptions): Promise<SharedSocket> {
  const shared = new SharedSocket();
  shared.raw = await pickOpener(options)(
    at,
    {
      onDatagram: (data, from, truncated) => shared.deliver(data, from, truncated),
      onWritable: () => shared.writable(),
      // ICMP errors are advisory for UDP: consumers decide (a dialer fails its handshake).
      onError: (err) => shared.error(err),
    },
    options,
  );
  return shared;
}

/**
 * Bun's native socket sends fastest (sendMany) but cannot size its receive buffer; node:dgram can.
 * Under Deno, Deno.listenDatagram (when `--unstable-net` made it available) loses less and sends
 * faster than Deno's node:dgram, for listeners and dialers alike: it cannot connect(), but Deno's
 * node:dgram only emulates connect() and reports no ICMP errors either (docs/RUNTIMES.md).
 * XFER_UDP_IMPL=node|bun overrides the choice (benchmarks compare them); "bun" only on Bun. A socket
 * that must set its TTL (`ttl`: the punching socket) is always node:dgram, whose setTTL works on Deno too.
 */
function pickOpener(options: RawUdpOptions): RawUdpOpener {
  const forced = process.env.XFER_UDP_IMPL;
  if (forced === "node" || options.ttl) return openNodeUdp;
  if (hasDenoDatagrams()) return openDenoUdp;
  const onBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
  if (!onBun) return openNodeUdp;
  if (forced === "bun" || options.recvBufferBytes === undefined) return lazyBun;
  return openNodeUdp;
}

const lazyBun: RawUdpOpener = async (at, handlers, options) => {
  const { openBunUdp } = await import("./bun-socket.ts");
  return openBunUdp(at, handlers, options);
};

/** Resolve a host name to the address datagrams go to (IP literals pass through). */
export async function resolvePeer(to: Endpoint): Promise<UdpPeer> {
  const { address } = await lookup(to.host);
  return { address, port: to.port };
}

/** The wildcard address of the peer's family, for a dialing socket. */
export function wildcardFor(peer: UdpPeer): Endpoint {
  return { host: isIpv6(peer.address) ? "::" : "0.0.0.0", port: 0 };
}

/** "1.2.3.4:5" or "[::1]:5", for messages and StreamConnection.remote. */
export function formatPeer(p: UdpPeer): string {
  return isIpv6(p.address) ? `[${p.address}]:${p.port}` : `${p.address}:${p.port}`;
}
