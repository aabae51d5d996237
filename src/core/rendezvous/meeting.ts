/**
 * One side's meeting at a relay, as the session code needs it: a stream transport that joins the
 * room, and the step after the handshake that looks for a direct path before the session starts.
 * Reports where it met (`rendezvous`) and which path carries the session (`path`).
 */
import type { StreamConnection, TransportContext, TransportDefinition } from "../../plugin/api.ts";
import type { EventSink } from "../events.ts";
import type { AfterAuth } from "../session/run.ts";
import { chooseDirectOrRelay } from "./direct.ts";
import type { LocalAddress } from "./paths.ts";
import { describeRelay, type Joined, type MeetOptions, type Relayed } from "./relay-client.ts";
import { relayTransport } from "./relay-transport.ts";
import { roomOf } from "./room.ts";

export interface MeetingOptions extends Omit<MeetOptions, "ctx" | "room"> {
  code: string;
  generated: boolean;
  /** What the other side types (shown when this side waits). */
  command: string;
  emit: EventSink;
  /** Look for a direct TCP path after the handshake (false: the session stays on the relay). */
  direct: boolean;
  interfaces: () => readonly LocalAddress[];
  /** Receiver: the room failed after the join. */
  onFailed?: (err: unknown) => void;
}

export interface Meeting {
  transport: TransportDefinition<"stream">;
  afterAuth: AfterAuth;
}

export function meeting(opts: MeetingOptions): Meeting {
  const where = describeRelay(opts.relay);
  const room = roomOf(opts.code);
  let joined: Joined | null = null;
  let relayed: Relayed | null = null;
  let ctx: TransportContext | null = null;
  const transport = relayTransport({
    ...opts,
    room,
    onJoined: (j) => {
      joined = j;
      opts.emit({
        event: "rendezvous",
        relay: where,
        room,
        code: opts.code,
        generated: opts.generated,
        waiting: j.waiting,
        command: opts.command,
        seenAs: j.you,
      });
    },
    onPaired: (r) => {
      relayed = r;
    },
    onContext: (c) => {
      ctx = c;
    },
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
    async afterAuth(sealed) {
      // Both sides run this step whenever they met at a relay: it is where they agree on the path.
      if (!joined || !relayed || !ctx) return relayedPath(sealed);
      const chosen = await chooseDirectOrRelay(sealed, {
        role: opts.side === "send" ? "sender" : "receiver",
        code: opts.code,
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
