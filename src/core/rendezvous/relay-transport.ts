/**
 * A relay room already joined, seen as a stream transport: dial() resolves once the other side is
 * there; listen() hands over the one relayed connection when it comes. The session code (run.ts)
 * then runs over it as over any stream, handshake first, so nothing changes there.
 */
import {
  type Endpoint,
  type StreamConnection,
  TRANSPORT_API_VERSION,
  type TransportDefinition,
} from "../../plugin/api.ts";
import type { Joined, Relayed } from "./relay-client.ts";

/** Both sides' handshakes bind this name: keys made for a relayed session are useless on a direct one. */
export const RELAY_TRANSPORT_NAME = "relay";

export interface RelayTransportOptions {
  relay: Endpoint;
  /** The room this side joined (the transport is used only after the join). */
  joined(): Joined;
  /** The pairing came; may return the connection to use instead of `relayed.conn` (one that wraps it). */
  onPaired(relayed: Relayed, joined: Joined): StreamConnection | undefined;
  /** listen() only: the room failed while waiting (expired, relay gone). dial() rejects instead. */
  onFailed?(err: unknown): void;
}

export function relayTransport(opts: RelayTransportOptions): TransportDefinition<"stream"> {
  return {
    name: RELAY_TRANSPORT_NAME,
    description: `the session through the relay at ${opts.relay.host}:${opts.relay.port}`,
    apiVersion: TRANSPORT_API_VERSION,
    kind: "stream",
    async dial(_to, _ctx, signal) {
      const joined = opts.joined();
      try {
        const relayed = await joined.paired(signal);
        return opts.onPaired(relayed, joined) ?? relayed.conn;
      } finally {
        if (signal.aborted) joined.leave();
      }
    },
    async listen(_at, _ctx, onConnection) {
      const stop = new AbortController();
      const joined = opts.joined();
      let pairedYet = false;
      joined.paired(stop.signal).then(
        (relayed) => {
          pairedYet = true;
          onConnection(opts.onPaired(relayed, joined) ?? relayed.conn);
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
