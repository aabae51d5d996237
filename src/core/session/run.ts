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
import { waitAtMost } from "../bounded.ts";
import type { FecParams } from "../datagram/fec.ts";
import { receiveDatagramSession } from "../datagram/receiver.ts";
import { sendDatagramSession } from "../datagram/sender.ts";
import { toXferError, XferError } from "../errors.ts";
import type { EventSink } from "../events.ts";
import type { Offered } from "../manifest.ts";
import { allEntries } from "../offered.ts";
import { SessionChannel } from "../protocol/channel.ts";
import type { ReceiveTarget } from "../receive/receive-target.ts";
import type { CodeAttempts } from "../secure/attempts.ts";
import { secureDatagrams } from "../secure/sealed-datagrams.ts";
import { secureStream } from "../secure/stream-handshake.ts";
import { PathLocks } from "./path-locks.ts";
import { type ReceiverShared, runReceiver } from "./receiver.ts";
import type { SessionResult } from "./result.ts";
import { runSender } from "./sender.ts";

/** How long a transport may take to connect before the send gives up. */
const DIAL_TIMEOUT_MS = 30_000;
/**
 * Sessions a receiver runs at once, authenticated or not, and from one host: past these a new
 * connection is closed at once, so strangers cannot exhaust memory or file descriptors, and one
 * host cannot crowd out the others.
 */
export const MAX_SESSIONS = 128;
export const MAX_SESSIONS_PER_HOST = 32;

export interface SendRequest {
  transport: AnyTransport;
  to: Endpoint;
  entries: Offered;
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
  /** The code both sides were given (normalised): the session's only secret. */
  code: string;
  /** How long dial() may take (default DIAL_TIMEOUT_MS): through a relay it waits for the other side. */
  dialTimeoutMs?: number;
  /** Stream sessions: once authenticated, where the session goes on (a relay's peers look for a direct path). */
  afterAuth?: AfterAuth;
}

/** Given the authenticated, sealed stream: the stream the session runs over (it, or a better one). */
export type AfterAuth = (sealed: StreamConnection) => Promise<StreamConnection>;

export async function sendSession(req: SendRequest): Promise<SessionResult> {
  const { transport, to } = req;
  if (transport.kind === "datagram" && hasStdin(req.entries))
    throw new XferError("usage", "datagram transports need sizes up front: standard input cannot be sent over them");
  let conn: StreamConnection | DatagramConnection;
  // A plugin's dial() might never settle: bound it, and tell the plugin through its signal.
  const dialTimeoutMs = req.dialTimeoutMs ?? DIAL_TIMEOUT_MS;
  const deadline = AbortSignal.timeout(dialTimeoutMs);
  const timedOut = new Promise<never>((_, reject) =>
    deadline.addEventListener("abort", () =>
      reject(
        new XferError(
          "timeout",
          `no connection to ${to.host}:${to.port} over ${transport.name} within ${dialTimeoutMs / 1000} s`,
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
  const secure = { role: "sender", code: req.code, ctx: { kind: transport.kind, transport: transport.name } } as const;
  if (transport.kind === "datagram") {
    const raw = conn as DatagramConnection;
    req.emit({ event: "connected", transport: transport.name, remote: raw.remote, role: "sender" });
    const onAbort = () => raw.close();
    req.signal.addEventListener("abort", onAbort, { once: true });
    try {
      const dconn = await secureDatagrams(raw, secure);
      req.emit({ event: "authenticated", remote: raw.remote });
      return await sendDatagramSession(dconn, allEntries(req.entries), req.emit, {
        allowLoss: req.allowLoss ?? false,
        fec: req.fec,
      });
    } finally {
      req.signal.removeEventListener("abort", onAbort);
      raw.close();
    }
  }
  const raw = conn as StreamConnection;
  req.emit({ event: "connected", transport: transport.name, remote: raw.remote, role: "sender" });
  const onAbortHandshake = () => raw.destroy(new Error("interrupted"));
  req.signal.addEventListener("abort", onAbortHandshake, { once: true });
  let sealed: StreamConnection;
  try {
    sealed = await secureStream(raw, secure);
  } catch (err) {
    raw.destroy();
    throw err;
  } finally {
    req.signal.removeEventListener("abort", onAbortHandshake);
  }
  req.emit({ event: "authenticated", remote: raw.remote });
  if (req.afterAuth)
    sealed = await req.afterAuth(sealed).catch((err: unknown) => {
      raw.destroy();
      throw err;
    });
  const channel = new SessionChannel(sealed, req.idleTimeoutMs);
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
  /** The code senders must know (normalised). */
  code: string;
  /** The guess limiter for that code, shared by every session. */
  attempts: CodeAttempts;
  /** Asked before an authenticated peer's offer is written (see ReceiverShared). */
  approve?: ReceiverShared["approve"];
  /**
   * When true, a transport that cannot listen once another one is bound is a warning naming it, and
   * the others serve on: one broken plugin must not stop a receiver the user did not point at it.
   * The first transport's failure still ends serve(): then the address itself is the problem.
   */
  bestEffort?: boolean;
  /** Stream sessions: see SendRequest.afterAuth. */
  afterAuth?: AfterAuth;
}

export interface Server {
  listeners: { transport: AnyTransport; listener: Listener }[];
  /** Stop listening and abort sessions still running (their partial files stay resumable). */
  close(): Promise<void>;
}

/** Listen on every transport at the same port number (the first bind decides it when port is 0). */
export async function serve(req: ServeRequest): Promise<Server> {
  const shared: ReceiverShared = { locks: new PathLocks(), approve: req.approve };
  /** Every session still running, of any kind: closing the server aborts them all. */
  const live = new Set<(reason: Error) => void>();
  const listeners: Server["listeners"] = [];
  const secureFor = (transport: AnyTransport) =>
    ({
      role: "receiver",
      code: req.code,
      attempts: req.attempts,
      ctx: { kind: transport.kind, transport: transport.name },
    }) as const;
  const perHost = new Map<string, number>();
  /** Room for one more session from `remote`? Takes it if so; `release` gives it back. */
  const admit = (remote: string): boolean => {
    const host = hostOf(remote);
    const n = perHost.get(host) ?? 0;
    if (live.size >= MAX_SESSIONS || n >= MAX_SESSIONS_PER_HOST) return false;
    perHost.set(host, n + 1);
    return true;
  };
  const release = (remote: string) => {
    const host = hostOf(remote);
    const n = (perHost.get(host) ?? 1) - 1;
    if (n > 0) perHost.set(host, n);
    else perHost.delete(host);
  };
  const track = (remote: string, abort: (reason: Error) => void, session: () => Promise<SessionResult>) => {
    live.add(abort);
    const ended = () => {
      live.delete(abort);
      release(remote);
      try {
        req.target.settle?.();
      } catch (err) {
        req.emit({ event: "warning", message: toXferError(err).message });
      }
    };
    session().then(
      (result) => {
        ended();
        req.onSession({ result });
      },
      (err: unknown) => {
        ended();
        req.onSession({ error: toXferError(err) });
      },
    );
  };
  let port = req.at.port;
  const listenFailed = (err: unknown) => {
    const e = toXferError(err, `cannot listen on ${req.at.host}:${port}`);
    return e.code === "internal" || e.code === "io" ? new XferError("usage", e.message, { cause: err }) : e;
  };
  for (const transport of req.transports) {
    try {
      const ctx = req.ctxFor(transport);
      const connected = (remote: string) =>
        req.emit({ event: "connected", transport: transport.name, remote, role: "receiver" });
      const listener =
        transport.kind === "datagram"
          ? await transport.listen({ host: req.at.host, port }, ctx, (raw) => {
              if (!admit(raw.remote)) return raw.close();
              connected(raw.remote);
              track(
                raw.remote,
                () => raw.close(),
                async () => {
                  try {
                    const conn = await secureDatagrams(raw, secureFor(transport));
                    req.emit({ event: "authenticated", remote: raw.remote });
                    return await receiveDatagramSession(
                      conn,
                      req.target,
                      req.emit,
                      { allowLoss: req.allowLoss ?? false, sealDrops: () => conn.dropped },
                      shared,
                    );
                  } finally {
                    raw.close();
                  }
                },
              );
            })
          : await transport.listen({ host: req.at.host, port }, ctx, (raw) => {
              if (!admit(raw.remote)) return raw.destroy();
              connected(raw.remote);
              let channel: SessionChannel | null = null;
              track(
                raw.remote,
                (reason) => (channel ? channel.destroy(reason) : raw.destroy(reason)),
                async () => {
                  try {
                    const sealed = await secureStream(raw, secureFor(transport));
                    channel = new SessionChannel(
                      req.afterAuth ? await req.afterAuth(sealed) : sealed,
                      req.idleTimeoutMs,
                    );
                  } catch (err) {
                    raw.destroy();
                    throw err;
                  }
                  req.emit({ event: "authenticated", remote: raw.remote });
                  try {
                    return await runReceiver(channel, req.target, req.emit, shared);
                  } catch (err) {
                    // Close gracefully first so an error message already sent reaches the peer.
                    await closeGracefully(channel);
                    throw err;
                  }
                },
              );
            });
      port = listener.address.port;
      listeners.push({ transport, listener });
      req.emit({ event: "listening", transport: transport.name, host: listener.address.host, port });
    } catch (err) {
      if (req.bestEffort && listeners.length > 0) {
        req.emit({ event: "warning", message: `${transport.name} is not listening: ${listenFailed(err).message}` });
        continue;
      }
      await Promise.all(listeners.map((l) => l.listener.close()));
      throw listenFailed(err);
    }
  }
  return {
    listeners,
    async close() {
      await Promise.all(listeners.map((l) => l.listener.close()));
      for (const abort of live) abort(new Error("receiver shutting down"));
    },
  };
}

/** The host part of a transport's `remote` ("10.0.0.1:5000", "[::1]:5000"); the whole string if it has no port. */
export function hostOf(remote: string): string {
  const m = /^\[(.*)\]:\d+$/.exec(remote) ?? /^([^:]*):\d+$/.exec(remote);
  return m ? m[1]! : remote;
}

/** Half-close (flushing what was sent) with a bound, then tear down whatever is left. */
async function closeGracefully(channel: SessionChannel): Promise<void> {
  await waitAtMost(channel.end(), 1000);
  channel.destroy();
}

/**
 * Before exiting, give transports that close in userspace (see TransportDefinition.settle) up to
 * `boundMs` to finish: the peer then gets its last ACK instead of waiting out an idle timeout.
 */
export async function settleTransports(transports: readonly AnyTransport[], boundMs = 3000): Promise<void> {
  const pending = transports.flatMap((t) => (t.settle ? [t.settle().catch(() => {})] : []));
  if (pending.length > 0) await waitAtMost(Promise.all(pending), boundMs);
}

/** Standard input is the only source of unknown size. */
function hasStdin(entries: Offered): boolean {
  for (let i = 0; i < entries.length; i++) if (entries.kind(i) === "file" && entries.size(i) === null) return true;
  return false;
}
