/**
 * The public transport plugin API. Built-in transports use exactly this door; so do outside authors.
 * Changing anything here that a plugin can observe bumps TRANSPORT_API_VERSION.
 *
 * A plugin is a module whose default export is one TransportDefinition or an array of them, loaded
 * with `--plugin <path>`, XFER_PLUGINS or the per-user plugin folder (see docs/PLUGINS.md). Authors
 * import these types as `import type { ... } from "xfer/plugin"` and check their plugin with
 * `xfer plugin check <path>` (the conformance kit, src/host/conformance/).
 */

import type { ZodObject } from "zod";
import type { Endpoint } from "./endpoint.ts";
import type { UdpPort } from "./udp/port.ts";

export const TRANSPORT_API_VERSION = 1;

export type { Endpoint } from "./endpoint.ts";

/**
 * Per-session knobs from the command line. Keys a transport declares in `options` are checked before
 * it is called; without that schema, it ignores what it does not understand.
 */
export interface TransportOptions {
  /** Upper bound on the sending rate, in bits per second (undefined: the transport decides). */
  rateBitsPerSecond?: number;
  /** Free-form `key=value` settings given with `--transport-opt`, for plugin-specific tuning. */
  extra: Readonly<Record<string, string>>;
}

/** What the core hands every transport: a logger and a sink for statistics events. */
export interface TransportContext {
  options: TransportOptions;
  log: {
    debug(message: string): void;
    info(message: string): void;
    warn(message: string): void;
  };
  /** Periodic or final per-connection statistics (RTT, loss, cwnd...). Shown as `stats` events in --json. */
  stats(values: Record<string, number | string>): void;
}

/**
 * A reliable, ordered, bidirectional byte stream (kind "stream").
 * Contract: bytes written arrive once, in order, or the connection fails with an error on both sides.
 */
export interface StreamConnection {
  /** Printable peer address, e.g. "127.0.0.1:7878". */
  readonly remote: string;
  /** Incoming bytes. Ends after the peer called end(); throws if the connection fails. */
  readonly readable: AsyncIterable<Uint8Array>;
  /**
   * Queue bytes. Resolves when the transport can take more (backpressure): a caller that awaits each
   * write never holds more than the transport's buffer in memory. The transport may use `chunk`
   * only until the returned promise settles; the caller reuses the buffer afterwards (or frees it:
   * a freed buffer reads as empty), so a transport that keeps bytes longer (a retransmission queue)
   * must copy them.
   */
  write(chunk: Uint8Array): Promise<void>;
  /** Half-close: no more writes. Resolves once everything written was delivered (or rejects). */
  end(): Promise<void>;
  /** Abort at once; pending writes reject, the peer sees an error. Idempotent. */
  destroy(reason?: Error): void;
}

/**
 * An unreliable datagram path to one peer (kind "datagram"): datagrams may be lost, duplicated,
 * reordered; never truncated or altered silently (a transport drops what it cannot deliver whole).
 */
export interface DatagramConnection {
  /** Printable peer address, e.g. "127.0.0.1:7878". */
  readonly remote: string;
  /** Largest payload send() accepts. */
  readonly maxDatagramSize: number;
  /** Send datagrams, paced by the transport. Resolves when they left (or were scheduled to leave). */
  send(datagrams: readonly Uint8Array[]): Promise<void>;
  /** Incoming datagrams from this peer. Ends on close(). */
  readonly datagrams: AsyncIterable<Uint8Array>;
  /** Stop sending and receiving; `datagrams` ends. Idempotent. */
  close(): void;
}

/** The connection type a transport of kind K hands out. */
export type ConnectionOf<K extends TransportKind> = K extends "stream" ? StreamConnection : DatagramConnection;
/** "stream": StreamConnection (reliable, ordered bytes). "datagram": DatagramConnection (unreliable messages). */
export type TransportKind = "stream" | "datagram";

/**
 * A UDP socket the core already holds, with a hole punched through the NATs to one peer (docs/PLUGINS.md,
 * "Punched paths"). A transport that declares `capabilities.udpPath` runs over it when given one:
 * listen() accepts on this socket instead of binding `at`, dial() sends from it to `to`. The transport
 * owns the handle from then on and closes it when its listener and connections are done.
 */
export interface UdpPath {
  readonly port: UdpPort;
  /**
   * dial() only: the round trip to `to` the core measured while punching (a probe and its answer), in
   * ms. A transport may time its handshake's repeats from it until it has a sample of its own; it is an
   * upper bound (a lost probe makes it longer), never shorter than the path's.
   */
  readonly rttHintMs?: number;
}

/** A bound listener, as returned by TransportDefinition.listen(). */
export interface Listener {
  /** The address actually bound (port 0 resolved). */
  readonly address: Endpoint;
  /** Stop accepting; existing connections stay open. Resolves promptly (it must not wait for them). */
  close(): Promise<void>;
}

/** What a plugin module exports (validated with zod by the registry when loaded). */
export interface TransportDefinition<K extends TransportKind = TransportKind> {
  /** Unique lowercase name used with --via, e.g. "tcp-stream". */
  name: string;
  /** One line for `xfer transports`. */
  description: string;
  /** The API version the plugin was written against. */
  apiVersion: number;
  kind: K;
  /** Stream transports are reliable by contract; datagram ones are not. */
  capabilities?: {
    /** Works without any TCP between the hosts. */
    udpOnly?: boolean;
    /** Honours TransportOptions.rateBitsPerSecond. */
    rateLimit?: boolean;
    /** Runs over a punched UDP socket given as `path` to listen() and dial() (an addition within API version 1). */
    udpPath?: boolean;
  };
  /**
   * Optional. The `--transport-opt key=value` settings this transport understands: a zod object
   * whose fields take the value as a string (`.describe()` each one: `xfer transports --verbose`
   * lists them). With it, xfer refuses unknown keys and malformed values as usage errors (exit 2)
   * before it listens or dials; without it, every setting reaches `ctx.options.extra` unchecked.
   * `ctx.options.extra` keeps the strings as typed either way. (An addition within API version 1:
   * an xfer older than this field ignores it.)
   */
  options?: ZodObject;
  /**
   * Bind and accept connections. Every accepted connection is handed to onConnection (for datagram
   * transports: one connection per peer, on its first datagram). Reject if the address cannot be bound.
   */
  listen(
    at: Endpoint,
    ctx: TransportContext,
    onConnection: (conn: ConnectionOf<K>) => void,
    path?: UdpPath,
  ): Promise<Listener>;
  /** Connect to a listener; rejects with a clear Error if unreachable. Honour the abort signal. */
  dial(to: Endpoint, ctx: TransportContext, signal: AbortSignal, path?: UdpPath): Promise<ConnectionOf<K>>;
  /**
   * Optional. Called before the process exits: resolve once connections already ended or destroyed
   * have finished their closing handshake (a userspace protocol's TIME_WAIT, say), so the last ACK
   * is not lost with the process. The caller bounds the wait; kernel-backed transports omit it.
   */
  settle?(): Promise<void>;
}

/** A definition of either kind; narrow it with `t.kind === "stream"`. */
export type AnyTransport = TransportDefinition<"stream"> | TransportDefinition<"datagram">;

/** Identity helper that gives a plugin author type checking and inference. */
export function defineTransport<K extends TransportKind>(def: TransportDefinition<K>): TransportDefinition<K> {
  return def;
}

/** The queue between socket callbacks and a reader, bounded by count or by byte watermarks. */
export { AsyncQueue, type AsyncQueueOptions } from "./async-queue.ts";
