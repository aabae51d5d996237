/**
 * The client side of the relay (protocol v1, docs/PROTOCOL.md §4): join a room over a stream
 * transport, wait for the other side, and hand the core a StreamConnection that carries the session
 * through the relay exactly as a direct one would (the handshake runs over it, then sealed records).
 */
import { setImmediate } from "node:timers";
import type { Endpoint, StreamConnection, TransportContext, TransportDefinition } from "../../plugin/api.ts";
import { XferError } from "../errors.ts";
import { continueStream } from "../protocol/stream-prefix.ts";
import { PaddedReader, padSender } from "./padded.ts";
import type { MeetingTrace } from "./trace.ts";
import {
  encodeRelayMessage,
  parseReply,
  RELAY_PROTOCOL_VERSION,
  type RefusalCode,
  RelayFrameDecoder,
  type RelayReply,
  type Side,
} from "./wire.ts";

/** The relay said no, and why (its code decides whether trying again can help). */
export class RelayRefused extends XferError {
  constructor(
    readonly refusal: RefusalCode,
    message: string,
  ) {
    super("refused", message);
  }
}

/** How long the relay may take to answer a join (it answers at once unless it is overloaded or not a relay). */
export const RELAY_REPLY_TIMEOUT_MS = 10_000;

export interface MeetOptions {
  /** The stream transport that reaches the relay (tcp-stream). */
  base: TransportDefinition<"stream">;
  ctx: TransportContext;
  relay: Endpoint;
  room: string;
  side: Side;
  password?: string;
  /** Sender: the bytes it will send, so that a relay too small for them refuses at once. */
  bytes?: number;
  /** Ask for a reflection token (docs/PROTOCOL.md §4.2): this side will punch UDP. */
  udp?: boolean;
  /** Ask for the padded start (padded.ts): a lost meeting message is then found in about a round trip. */
  padded?: boolean;
  /** Marks each step of the meeting as it happens (a benchmark's timeline). */
  trace?: MeetingTrace;
}

export interface Joined {
  /** The relay's answer came after this long: the round trip to the relay. */
  rttMs: number;
  /** This side's address as the relay saw it. */
  you: string;
  /** True when the other side was not there yet. */
  waiting: boolean;
  /** Resolves once the other side is there: the relayed stream. */
  paired(signal: AbortSignal): Promise<Relayed>;
  /** Leave the room (a waiting side that gives up). */
  leave(): void;
}

export interface Relayed {
  conn: StreamConnection;
  /** The other side's address as the relay saw it. */
  peer: string;
  /** This side's reflection token (hex): both sides asked for one, so both may punch (§4.2). */
  token?: string;
}

/**
 * A connection to the relay not up after this long gets a second dial beside it, and the first to
 * connect is used: a lost SYN or SYN-ACK otherwise waits out TCP's initial retransmission timeout, 1 s.
 */
export const RELAY_REDIAL_MS = 250;

/** Connect to the relay and join the room; resolves on its first answer (refusals reject, with its reason). */
export async function joinRelay(opts: MeetOptions, signal: AbortSignal): Promise<Joined> {
  const where = `relay ${describeRelay(opts.relay)}`;
  let raw: StreamConnection;
  try {
    raw = await dialTwice((s) => opts.base.dial(opts.relay, opts.ctx, s), signal);
    opts.trace?.("relay-connected");
  } catch (err) {
    throw new XferError("unreachable", `cannot reach the ${where}: ${(err as Error).message}`, { cause: err });
  }
  const source = raw.readable[Symbol.asyncIterator]();
  const decoder = new RelayFrameDecoder();
  const read = async (timeoutMs: number | null, signal: AbortSignal): Promise<RelayReply> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = new Promise<never>((_, reject) => {
      if (timeoutMs !== null)
        timer = setTimeout(
          () => reject(new XferError("timeout", `the ${where} did not answer within ${timeoutMs / 1000} s`)),
          timeoutMs,
        );
      const onAbort = () => reject(new XferError("internal", "interrupted"));
      if (signal.aborted) onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
    });
    stop.catch(() => {});
    try {
      for (;;) {
        const message = decoder.next();
        if (message !== null) return parseReply(message);
        const next = await Promise.race([source.next(), stop]);
        if (next.done) throw new XferError("peer-gone", `the ${where} closed the connection`);
        decoder.push(next.value);
      }
    } catch (err) {
      raw.destroy();
      throw err instanceof XferError ? err : new XferError("peer-gone", `${where}: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  };
  const refused = (reply: Extract<RelayReply, { type: "refused" }>) =>
    new RelayRefused(reply.code, `the ${where} refused: ${reply.reason} (${reply.code})`);

  const padding = opts.padded ? padSenderOver(raw) : null;
  const started = performance.now();
  await raw.write(
    encodeRelayMessage({
      type: "join",
      relay: RELAY_PROTOCOL_VERSION,
      room: opts.room,
      side: opts.side,
      ...(opts.password === undefined ? {} : { password: opts.password }),
      ...(opts.bytes === undefined ? {} : { bytes: opts.bytes }),
      ...(opts.udp ? { udp: true as const } : {}),
      ...(opts.padded ? { padded: true as const } : {}),
    }),
  );
  // Behind the join, so that a lost join is found by SACK too (the relay takes this one frame before the pairing).
  padding?.pad();
  const first = await read(RELAY_REPLY_TIMEOUT_MS, signal);
  const rttMs = performance.now() - started;
  if (first.type === "refused") {
    raw.destroy();
    throw refused(first);
  }
  const relayed = (reply: Extract<RelayReply, { type: "paired" }>): Relayed => {
    // The relay's connection after the pairing: the bytes read past the last relay message come first.
    const conn = continueStream(raw, decoder.takeRest(), source, `${reply.peer} via ${where}`);
    return { peer: reply.peer, token: reply.token, conn: padding ? paddedStream(conn, padding) : conn };
  };
  return {
    rttMs,
    you: first.you,
    waiting: first.type === "waiting",
    async paired(signal) {
      if (first.type === "paired") return relayed(first);
      // The relay decides how long a room waits: it says so with an "expired" refusal.
      const next = await read(null, signal);
      if (next.type === "refused") {
        raw.destroy();
        throw refused(next);
      }
      if (next.type !== "paired") throw new XferError("protocol", `the ${where} sent '${next.type}' twice`);
      return relayed(next);
    },
    leave: () => raw.destroy(),
  };
}

/**
 * `dial` once, and once more if the first has not connected within `redialMs`; the first connection
 * wins and the other attempt is aborted (or closed, if it connected too). A first attempt that fails
 * before the second starts (refused, unreachable) fails at once: that is no lost packet.
 */
export function dialTwice(
  dial: (signal: AbortSignal) => Promise<StreamConnection>,
  signal: AbortSignal,
  redialMs = RELAY_REDIAL_MS,
): Promise<StreamConnection> {
  return new Promise((resolve, reject) => {
    const attempts: AbortController[] = [];
    let failed = 0;
    let settled = false;
    const onAbort = () => {
      for (const a of attempts) a.abort();
    };
    const settle = () => {
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    };
    const attempt = () => {
      const mine = new AbortController();
      attempts.push(mine);
      if (signal.aborted) mine.abort();
      dial(mine.signal).then(
        (conn) => {
          if (settled) return conn.destroy();
          settle();
          for (const a of attempts) if (a !== mine) a.abort();
          resolve(conn);
        },
        (err: unknown) => {
          if (settled) return;
          failed++;
          // Before the second dial (a refusal, not a loss), or after both: the last reason is the answer.
          if (attempts.length === 1 || failed === 2) {
            settle();
            reject(err);
          }
        },
      );
    };
    signal.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(() => {
      if (!settled && !signal.aborted) attempt();
    }, redialMs);
    attempt();
  });
}

/**
 * The padded start's sending side over the relay connection `raw` (padded.ts): one per connection,
 * from the join on, so the join's padding and the session's frames keep their order.
 */
function padSenderOver(raw: StreamConnection) {
  let last: Promise<void> = Promise.resolve();
  const sender = padSender(
    (part) => {
      last = raw.write(part);
      // A failed send shows on the caller's next write; the padding's own has no caller.
      last.catch(() => {});
    },
    (fn) => setImmediate(fn),
  );
  return {
    pad: () => sender.pad(),
    write(chunk: Uint8Array): Promise<void> {
      sender.write(chunk);
      return last;
    },
    end(): Promise<void> {
      sender.flush();
      return raw.end();
    },
  };
}

/** `conn` (the relay connection after the pairing) with its start padded both ways, sent by `sender`. */
function paddedStream(conn: StreamConnection, sender: ReturnType<typeof padSenderOver>): StreamConnection {
  const reader = new PaddedReader();
  return {
    remote: conn.remote,
    readable: {
      async *[Symbol.asyncIterator]() {
        for await (const chunk of conn.readable) {
          const data = reader.decode(chunk);
          if (data.byteLength > 0) yield data;
        }
      },
    },
    write: (chunk) => sender.write(chunk),
    end: () => sender.end(),
    destroy: (reason) => conn.destroy(reason),
  };
}

export function describeRelay({ host, port }: Endpoint): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
