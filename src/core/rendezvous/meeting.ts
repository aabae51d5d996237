/**
 * One side's meeting at a relay, as the session code needs it: the join (which picks a new code when
 * the relay has the room taken and the code was made up here), a stream transport over the joined
 * room, and the step after the handshake that looks for a direct path before the session starts.
 * Reports where it met (`rendezvous`) and which path carries the session (`path`).
 */
import type { StreamConnection, TransportContext, TransportDefinition } from "../../plugin/api.ts";
import { XferError } from "../errors.ts";
import type { EventSink } from "../events.ts";
import type { AfterAuth } from "../session/run.ts";
import { chooseDirectOrRelay } from "./direct.ts";
import type { LocalAddress } from "./paths.ts";
import { describeRelay, type Joined, joinRelay, type MeetOptions, type Relayed, RelayRefused } from "./relay-client.ts";
import { relayTransport } from "./relay-transport.ts";
import { roomOf } from "./room.ts";

/** New codes tried when the relay has the room of a made-up one taken. */
const FRESH_CODES = 5;

export interface MeetingOptions extends Omit<MeetOptions, "ctx" | "room"> {
  code: string;
  /** Set when this side made the code up: then a taken room means another code, not a failure. */
  regenerate?: () => string;
  /** What the other side types (shown when this side waits), for the code finally used. */
  command: (code: string) => string;
  emit: EventSink;
  /** Look for a direct TCP path after the handshake (false: the session stays on the relay). */
  direct: boolean;
  interfaces: () => readonly LocalAddress[];
  /** Receiver: the room failed while waiting. */
  onFailed?: (err: unknown) => void;
}

export interface Meeting {
  /** Join the room (before the session starts); resolves with the code the session must use. */
  join(ctx: TransportContext, signal: AbortSignal): Promise<string>;
  transport: TransportDefinition<"stream">;
  afterAuth: AfterAuth;
}

export function meeting(opts: MeetingOptions): Meeting {
  const where = describeRelay(opts.relay);
  let code = opts.code;
  let joined: Joined | null = null;
  let relayed: Relayed | null = null;
  let ctx: TransportContext | null = null;
  const transport = relayTransport({
    relay: opts.relay,
    joined: () => {
      if (!joined) throw new XferError("internal", "the relay transport was used before the join");
      return joined;
    },
    onPaired: (r) => {
      relayed = r;
    },
    onFailed: opts.onFailed,
  });
  const relayedPath = (conn: StreamConnection) => {
    opts.emit({
      event: "path",
      path: "relayed",
      via: where,
      rttMs: Number((joined?.rttMs ?? 0).toFixed(2)),
      peer: relayed?.peer ?? "?",
    });
    return conn;
  };
  return {
    transport,
    async join(c, signal) {
      ctx = c;
      for (let fresh = 0; ; fresh++) {
        try {
          joined = await joinRelay({ ...opts, ctx: c, room: roomOf(code) }, signal);
          break;
        } catch (err) {
          if (!(err instanceof RelayRefused && err.refusal === "room-taken" && opts.regenerate && fresh < FRESH_CODES))
            throw err;
          code = opts.regenerate();
        }
      }
      opts.emit({
        event: "rendezvous",
        relay: where,
        room: roomOf(code),
        code,
        generated: opts.regenerate !== undefined,
        waiting: joined.waiting,
        command: opts.command(code),
        seenAs: joined.you,
      });
      return code;
    },
    async afterAuth(sealed) {
      // Both sides run this step whenever they met at a relay: it is where they agree on the path.
      if (!joined || !relayed || !ctx) return relayedPath(sealed);
      const chosen = await chooseDirectOrRelay(sealed, {
        role: opts.side === "send" ? "sender" : "receiver",
        code,
        base: opts.base,
        ctx,
        seenAs: joined.you,
        peerSeenAs: relayed.peer,
        interfaces: opts.direct ? opts.interfaces() : [],
        direct: opts.direct,
      });
      if (chosen.path === "relayed") return relayedPath(chosen.conn);
      opts.emit({
        event: "path",
        path: "direct",
        via: chosen.remote,
        rttMs: Number((chosen.handshakeMs ?? 0).toFixed(2)),
        peer: chosen.remote,
      });
      return chosen.conn;
    },
  };
}
