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
import { chooseDirectOrRelay, type DirectKind, PUNCH_WINDOW_MS, type UdpOffer } from "./direct.ts";
import type { LocalAddress } from "./paths.ts";
import { openPunchSocket, PRIME_MS, reflect } from "./punch.ts";
import { describeRelay, type Joined, joinRelay, type MeetOptions, type Relayed, RelayRefused } from "./relay-client.ts";
import { relayTransport } from "./relay-transport.ts";
import { roomOf } from "./room.ts";

/** New codes tried when the relay has the room of a made-up one taken. */
const FRESH_CODES = 5;

export interface MeetingOptions extends Omit<MeetOptions, "ctx" | "room" | "udp"> {
  code: string;
  /** Set when this side made the code up: then a taken room means another code, not a failure. */
  regenerate?: () => string;
  /** What the other side types (shown when this side waits), for the code finally used. */
  command: (code: string) => string;
  emit: EventSink;
  /** Look for a direct path after the handshake (false: the session stays on the relay). */
  direct: boolean;
  /** Offer and try direct TCP (false: only a punched UDP path, if `udp`). */
  tcp: boolean;
  /** A stream transport that runs over a punched UDP socket (capabilities.udpPath): punch for it. */
  udp?: TransportDefinition<"stream">;
  /** Sender: which direct path wins when both work. */
  prefer: DirectKind;
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
  const trace = opts.trace ?? (() => {});
  const where = describeRelay(opts.relay);
  let code = opts.code;
  let joined: Joined | null = null;
  let relayed: Relayed | null = null;
  let ctx: TransportContext | null = null;
  /** The punching socket and its reflection, from the pairing until afterAuth takes them. */
  let udpPending: Promise<UdpOffer | undefined> | undefined;
  const transport = relayTransport({
    relay: opts.relay,
    joined: () => {
      if (!joined) throw new XferError("internal", "the relay transport was used before the join");
      return joined;
    },
    onPaired: (r) => {
      relayed = r;
      trace("paired");
      if (!opts.direct || !opts.udp || !r.token) return undefined;
      // The reflection needs only the token, not the handshake: it crosses to the relay while the
      // handshake does, so its round trip (and any lost request's retry) is not added after it.
      const pending = udpOffer(opts.udp, r.token);
      udpPending = pending;
      const conn = r.conn;
      return {
        remote: conn.remote,
        readable: conn.readable,
        write: (chunk) => conn.write(chunk),
        end: () => conn.end(),
        destroy(reason) {
          // A handshake that failed never reaches afterAuth, which takes the socket from here on.
          if (udpPending) void pending.then((offer) => offer?.port.close());
          udpPending = undefined;
          conn.destroy(reason);
        },
      };
    },
    onFailed: opts.onFailed,
  });
  const relayedPath = (conn: StreamConnection, udpFailed?: string) => {
    opts.emit({
      event: "path",
      path: "relayed",
      via: where,
      rttMs: Number((joined?.rttMs ?? 0).toFixed(2)),
      peer: relayed?.peer ?? "?",
      ...(udpFailed ? { udpFailed } : {}),
    });
    return conn;
  };
  return {
    transport,
    async join(c, signal) {
      ctx = c;
      let udp = opts.direct && opts.udp !== undefined;
      let padded = true;
      for (let fresh = 0; ; fresh++) {
        try {
          joined = await joinRelay({ ...opts, ctx: c, room: roomOf(code), udp, padded }, signal);
          trace("joined");
          break;
        } catch (err) {
          // A relay from before the padded start (revision 1.3) refuses the join's `padded`, and one from
          // before reflection (1.1) its `udp`: meet there without them.
          if (err instanceof RelayRefused && err.refusal === "bad-request" && (padded || udp)) {
            if (padded) padded = false;
            else udp = false;
            continue;
          }
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
      trace("authenticated");
      if (!joined || !relayed || !ctx) return relayedPath(sealed);
      const pending = udpPending;
      udpPending = undefined;
      const udp = await pending;
      trace("reflected");
      const chosen = await chooseDirectOrRelay(sealed, {
        role: opts.side === "send" ? "sender" : "receiver",
        code,
        base: opts.base,
        ctx,
        seenAs: joined.you,
        peerSeenAs: relayed.peer,
        interfaces: opts.direct ? opts.interfaces() : [],
        direct: opts.direct,
        tcp: opts.tcp,
        udp,
        prefer: opts.prefer,
        // The receiver primes until the sender's probes come, which is one trip through the relay and
        // one across after its own first probe; then the handshakes follow.
        primeMs: PRIME_MS + joined.rttMs,
        punchWindowMs: PUNCH_WINDOW_MS + 5 * joined.rttMs,
        trace,
      });
      trace("chosen");
      if (chosen.path === "relayed") return relayedPath(chosen.conn, chosen.udpFailed);
      opts.emit({
        event: "path",
        path: chosen.path,
        via: chosen.remote,
        rttMs: Number((chosen.handshakeMs ?? 0).toFixed(2)),
        peer: chosen.remote,
        ...(chosen.path === "direct-udp" && udp ? { transport: udp.transport.name } : {}),
      });
      return chosen.conn;
    },
  };

  /** The punching socket and what the relay's reflection saw it as (null: no answer, UDP may be blocked). */
  async function udpOffer(transport: TransportDefinition<"stream">, token: string): Promise<UdpOffer | undefined> {
    const port = await openPunchSocket().catch(() => null);
    if (!port) return undefined;
    return { transport, port, reflected: await reflect(port, opts.relay, token) };
  }
}
