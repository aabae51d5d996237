/**
 * Sessions end to end: dial or listen through any registered transport, then run the session
 * protocol over it. Nothing here knows a transport by name.
 */
import type {
  AnyTransport,
  DatagramConnection,
  Endpoint,
  Listener,
  StreamConnection,
  TransportContext,
} from "../../plugin/api.ts";
import type { FecParams } from "../datagram/fec.ts";
import { receiveDatagramSession } from "../datagram/receiver.ts";
import { sendDatagramSession } from "../datagram/sender.ts";
import { toXferError, XferError } from "../errors.ts";
import type { EventSink } from "../events.ts";
import type { LocalEntry } from "../manifest.ts";
import { SessionChannel } from "../protocol/channel.ts";
import type { ReceiveTarget } from "../receive-target.ts";
import { PathLocks, runReceiver } from "./receiver.ts";
import type { SessionResult } from "./result.ts";
import { runSender } from "./sender.ts";

/** How long a transport may take to connect before the send gives up. */
const DIAL_TIMEOUT_MS = 30_000;

export interface SendRequest {
  transport: AnyTransport;
  to: Endpoint;
  entries: readonly LocalEntry[];
  ctx: TransportContext;
  emit: EventSink;
  stdin: AsyncIterable<Uint8Array>;
  signal: AbortSignal;
  /** See SessionChannel: how long to wait for a silent peer (0: forever). */
  idleTimeoutMs: number;
  /** Datagram transports: a file that arrives incomplete is not a failure. */
  allowLoss?: boolean;
  /** Datagram transports: interleaved XOR parity, k data per parity, m parities per block. */
  fec?: FecParams;
}

export async function sendSession(req: SendRequest): Promise<SessionResult> {
  const { transport, to } = req;
  let conn: StreamConnection | DatagramConnection;
  // A plugin's dial() might never settle: bound it, and tell the plugin through its signal.
  const deadline = AbortSignal.timeout(DIAL_TIMEOUT_MS);
  const timedOut = new Promise<never>((_, reject) =>
    deadline.addEventListener("abort", () =>
      reject(
        new XferError(
          "timeout",
          `no connection to ${to.host}:${to.port} over ${transport.name} within ${DIAL_TIMEOUT_MS / 1000} s`,
        ),
      ),
    ),
  );
  timedOut.catch(() => {});
  try {
    conn = await Promise.race([transport.dial(to, req.ctx, AbortSignal.any([req.signal, deadline])), timedOut]);
  } catch (err) {
    const e = toXferError(err, `${to.host}:${to.port} over ${transport.name}`);
    throw e.code === "internal" ? new XferError("unreachable", e.message, { cause: err }) : e;
  }
  if (transport.kind === "datagram") {
    const dconn = conn as DatagramConnection;
    req.emit({ event: "connected", transport: transport.name, remote: dconn.remote, role: "sender" });
    const onAbort = () => dconn.close();
    req.signal.addEventListener("abort", onAbort, { once: true });
    try {
      return await sendDatagramSession(dconn, req.entries, req.emit, {
        allowLoss: req.allowLoss ?? false,
        fec: req.fec,
      });
    } finally {
      req.signal.removeEventListener("abort", onAbort);
      dconn.close();
    }
  }
  conn = conn as StreamConnection;
  req.emit({ event: "connected", transport: transport.name, remote: conn.remote, role: "sender" });
  const channel = new SessionChannel(conn, req.idleTimeoutMs);
  const onAbort = () => channel.destroy(new Error("interrupted"));
  req.signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await runSender(channel, req.entries, req.emit, { stdin: req.stdin });
  } catch (err) {
    await closeGracefully(channel);
    throw err;
  } finally {
    req.signal.removeEventListener("abort", onAbort);
  }
}

export interface ServeRequest {
  transports: readonly AnyTransport[];
  at: Endpoint;
  target: ReceiveTarget;
  ctxFor: (transport: AnyTransport) => TransportContext;
  emit: EventSink;
  idleTimeoutMs: number;
  /** Datagram transports: publish incomplete files (holes as zeros) instead of keeping them as parts. */
  allowLoss?: boolean;
  /** Called when a session ends, with its result or its error. */
  onSession: (outcome: { result: SessionResult } | { error: XferError }) => void;
}

export interface Server {
  listeners: { transport: AnyTransport; listener: Listener }[];
  /** Stop listening and abort sessions still running (their partial files stay resumable). */
  close(): Promise<void>;
}

/** Listen on every transport at the same port number (the first bind decides it when port is 0). */
export async function serve(req: ServeRequest): Promise<Server> {
  const locks = new PathLocks();
  const live = new Set<SessionChannel>();
  const listeners: Server["listeners"] = [];
  let port = req.at.port;
  try {
    for (const transport of req.transports) {
      if (transport.kind === "datagram") {
        const listener = await transport.listen({ host: req.at.host, port }, req.ctxFor(transport), (conn) => {
          req.emit({ event: "connected", transport: transport.name, remote: conn.remote, role: "receiver" });
          receiveDatagramSession(conn, req.target, req.emit, { allowLoss: req.allowLoss ?? false })
            .then(
              (result) => req.onSession({ result }),
              (err: unknown) => req.onSession({ error: toXferError(err) }),
            )
            .finally(() => conn.close());
        });
        port = listener.address.port;
        listeners.push({ transport, listener });
        req.emit({ event: "listening", transport: transport.name, host: listener.address.host, port });
        continue;
      }
      const listener = await transport.listen({ host: req.at.host, port }, req.ctxFor(transport), (conn) => {
        req.emit({ event: "connected", transport: transport.name, remote: conn.remote, role: "receiver" });
        const channel = new SessionChannel(conn, req.idleTimeoutMs);
        live.add(channel);
        runReceiver(channel, req.target, req.emit, locks).then(
          (result) => {
            // Finished and ended: no longer live, so closing the server cannot abort its last ACKs.
            live.delete(channel);
            req.onSession({ result });
          },
          async (err: unknown) => {
            // Close gracefully first so an error message already sent reaches the peer.
            await closeGracefully(channel);
            live.delete(channel);
            req.onSession({ error: toXferError(err) });
          },
        );
      });
      port = listener.address.port;
      listeners.push({ transport, listener });
      req.emit({ event: "listening", transport: transport.name, host: listener.address.host, port });
    }
  } catch (err) {
    await Promise.all(listeners.map((l) => l.listener.close()));
    const e = toXferError(err, `cannot listen on ${req.at.host}:${port}`);
    throw e.code === "internal" || e.code === "io" ? new XferError("usage", e.message, { cause: err }) : e;
  }
  return {
    listeners,
    async close() {
      await Promise.all(listeners.map((l) => l.listener.close()));
      for (const channel of live) channel.destroy(new Error("receiver shutting down"));
    },
  };
}

/** Half-close (flushing what was sent) with a bound, then tear down whatever is left. */
async function closeGracefully(channel: SessionChannel): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([channel.end().catch(() => {}), new Promise((r) => (timer = setTimeout(r, 1000)))]);
  clearTimeout(timer);
  channel.destroy();
}

/**
 * Before exiting, give transports that close in userspace (see TransportDefinition.settle) up to
 * `boundMs` to finish: the peer then gets its last ACK instead of waiting out an idle timeout.
 */
export async function settleTransports(transports: readonly AnyTransport[], boundMs = 3000): Promise<void> {
  const pending = transports.flatMap((t) => (t.settle ? [t.settle().catch(() => {})] : []));
  if (pending.length === 0) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([Promise.all(pending), new Promise((r) => (timer = setTimeout(r, boundMs)))]);
  clearTimeout(timer);
}
