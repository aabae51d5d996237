/**
 * A relay seen as a stream transport: dial() joins the room and resolves once the other side is
 * there; listen() joins and hands over the one relayed connection when it comes. The session code
 * (run.ts) then runs over it as over any stream, handshake first, so nothing changes there.
 */
import { TRANSPORT_API_VERSION, type TransportContext, type TransportDefinition } from "../../plugin/api.ts";
import { type Joined, joinRelay, type MeetOptions, type Relayed } from "./relay-client.ts";

/** Both sides' handshakes bind this name: keys made for a relayed session are useless on a direct one. */
export const RELAY_TRANSPORT_NAME = "relay";

export interface RelayTransportOptions extends Omit<MeetOptions, "ctx"> {
  /** The relay answered: this side waits, or the other side was there already. */
  onJoined(joined: Joined): void;
  onPaired(relayed: Relayed, joined: Joined): void;
  /** listen() only: the room failed after the join (expired, relay gone). dial() rejects instead. */
  onFailed?(err: unknown): void;
  /** The context the core gave this transport (for connections made after the pairing). */
  onContext?(ctx: TransportContext): void;
}

export function relayTransport(opts: RelayTransportOptions): TransportDefinition<"stream"> {
  return {
    name: RELAY_TRANSPORT_NAME,
    description: `the session through the relay at ${opts.relay.host}:${opts.relay.port}`,
    apiVersion: TRANSPORT_API_VERSION,
    kind: "stream",
    async dial(_to, ctx, signal) {
      opts.onContext?.(ctx);
      const joined = await joinRelay({ ...opts, ctx }, signal);
      opts.onJoined(joined);
      try {
        const relayed = await joined.paired(signal);
        opts.onPaired(relayed, joined);
        return relayed.conn;
      } finally {
        if (signal.aborted) joined.leave();
      }
    },
    async listen(_at, ctx, onConnection) {
      opts.onContext?.(ctx);
      const stop = new AbortController();
      const joined = await joinRelay({ ...opts, ctx }, stop.signal);
      opts.onJoined(joined);
      let pairedYet = false;
      joined.paired(stop.signal).then(
        (relayed) => {
          pairedYet = true;
          opts.onPaired(relayed, joined);
          onConnection(relayed.conn);
        },
        (err: unknown) => {
          if (!stop.signal.aborted) opts.onFailed?.(err);
        },
      );
      return {
        address: opts.relay,
        async close() {
          // Closing a listener leaves the room; a session already paired goes on (the contract).
          if (!pairedYet) {
            stop.abort();
            joined.leave();
          }
        },
      };
    },
  };
}
