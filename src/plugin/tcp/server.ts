/**
 * TCP for transports, shared: one listening socket per host:port in the process, and each transport
 * claims the connections whose preamble names its tag (docs/PROTOCOL.md §6). So every TCP transport
 * loaded into `xfer recv` listens on the same port number, as UDP ones share a UDP port by claim.
 */
import type { Endpoint, Listener, StreamConnection } from "../api.ts";
import { bunDial, bunServe } from "./bun-socket.ts";
import { nodeDial, nodeServe } from "./node-socket.ts";
import { checkTag, encodePreamble, PREAMBLE_TIMEOUT_MS } from "./preamble.ts";
import type { OnConnection, Routing, TcpServer } from "./routing.ts";

/** "bun": Bun.listen / Bun.connect (faster, leaner); "node": node:net (Deno, Node, or Bun with XFER_TCP_PORTABLE=1). */
export type TcpImpl = "bun" | "node";

export interface TcpListenOptions {
  /**
   * Also take connections that start without a preamble (from an xfer older than the preamble, or a
   * client that speaks the session directly). One claim per port may; tcp-stream does.
   */
  untagged?: boolean;
  /** Adapter for a socket this call opens (a port already shared keeps its own). Default: see TcpImpl. */
  impl?: TcpImpl;
  /** How long an accepted connection may take to send its preamble (default PREAMBLE_TIMEOUT_MS). */
  preambleTimeoutMs?: number;
}

export interface TcpDialOptions {
  /** How long to wait for the TCP handshake before calling the host unreachable. */
  timeoutMs: number;
  signal: AbortSignal;
  impl?: TcpImpl;
}

interface Entry {
  readonly address: Endpoint;
  readonly claims: Map<string, OnConnection>;
  untagged: OnConnection | undefined;
  readonly routing: Routing;
  readonly server: TcpServer;
  closed: boolean;
}

/**
 * Keyed by a global symbol rather than held by this module: a plugin that imports its own copy of
 * xfer's helpers (from its node_modules, beside a compiled binary) must still share the port.
 */
const REGISTRY_KEY = Symbol.for("xfer.plugin.tcp.listeners.v1");
const holder = globalThis as { [REGISTRY_KEY]?: Map<string, Promise<Entry>> };
holder[REGISTRY_KEY] ??= new Map();
const registry = holder[REGISTRY_KEY];

const keyOf = (at: Endpoint) => `${at.host}|${at.port}`;

function defaultImpl(): TcpImpl {
  return typeof globalThis.Bun?.listen === "function" && !process.env.XFER_TCP_PORTABLE ? "bun" : "node";
}

/**
 * Listen on `at` for connections whose preamble names `tag`, sharing the socket with every other
 * claim on the same host and port in this process (port 0 binds a new one; claim the bound port to
 * share it). Rejects if the address cannot be bound or `tag` is already claimed there.
 */
export async function listenTcp(
  at: Endpoint,
  tag: string,
  onConnection: (conn: StreamConnection) => void,
  options: TcpListenOptions = {},
): Promise<Listener> {
  checkTag(tag);
  const entry = await entryFor(at, options);
  const where = `${entry.address.host}:${entry.address.port}`;
  if (entry.claims.has(tag)) throw new Error(`TCP tag '${tag}' is already listening on ${where}`);
  if (options.untagged && entry.untagged)
    throw new Error(`another transport already takes untagged TCP connections on ${where}`);
  entry.claims.set(tag, onConnection);
  if (options.untagged) entry.untagged = onConnection;
  let closed = false;
  return {
    address: entry.address,
    async close() {
      if (closed) return;
      closed = true;
      entry.claims.delete(tag);
      if (entry.untagged === onConnection) entry.untagged = undefined;
      if (entry.claims.size > 0) return;
      entry.closed = true;
      for (const key of [keyOf(at), keyOf(entry.address)])
        void registry.get(key)?.then((e) => e === entry && registry.delete(key));
      entry.server.close();
    },
  };
}

async function entryFor(at: Endpoint, options: TcpListenOptions): Promise<Entry> {
  for (;;) {
    const existing = at.port !== 0 ? registry.get(keyOf(at)) : undefined;
    if (existing) {
      const entry = await existing;
      // Its last claim left while we waited: bind afresh.
      if (!entry.closed) return entry;
      if (registry.get(keyOf(at)) === existing) registry.delete(keyOf(at));
      continue;
    }
    const opening = openEntry(at, options);
    if (at.port !== 0) {
      registry.set(keyOf(at), opening);
      opening.catch(() => registry.get(keyOf(at)) === opening && registry.delete(keyOf(at)));
    }
    const entry = await opening;
    // A later claim names the port that was bound (xfer recv's first transport picks it for port 0).
    if (at.port === 0) registry.set(keyOf(entry.address), opening);
    return entry;
  }
}

async function openEntry(at: Endpoint, options: TcpListenOptions): Promise<Entry> {
  const claims = new Map<string, OnConnection>();
  const routing: Routing = {
    claimFor: (tag) => (tag === null ? entry.untagged : claims.get(tag)),
    timeoutMs: options.preambleTimeoutMs ?? PREAMBLE_TIMEOUT_MS,
    routing: 0,
    rejected: 0,
    lastRejection: "",
  };
  const server = await ((options.impl ?? defaultImpl()) === "bun" ? bunServe : nodeServe)(at, routing);
  const entry: Entry = { address: server.address, claims, untagged: undefined, routing, server, closed: false };
  return entry;
}

/** Connect to a listener and name `tag` in the preamble; rejects with a clear Error if unreachable. */
export function dialTcp(to: Endpoint, tag: string, options: TcpDialOptions): Promise<StreamConnection> {
  // Neither socket API looks at a signal that was aborted before the dial started.
  if (options.signal.aborted) return Promise.reject(new Error("dial aborted"));
  const preamble = encodePreamble(tag);
  const dial = (options.impl ?? defaultImpl()) === "bun" ? bunDial : nodeDial;
  return dial(to, preamble, options.timeoutMs, options.signal);
}

/** What the shared listener on `at` turned away (for tests and debugging); undefined if none is open. */
export async function tcpRejections(at: Endpoint): Promise<{ rejected: number; lastRejection: string } | undefined> {
  const entry = await registry.get(keyOf(at));
  return entry && !entry.closed
    ? { rejected: entry.routing.rejected, lastRejection: entry.routing.lastRejection }
    : undefined;
}
