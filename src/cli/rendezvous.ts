/** Which relay, if any, and the relay transport for a command: the flags and variables, and the events it reports. */
import { XferError } from "../core/errors.ts";
import type { EventSink } from "../core/events.ts";
import { describeRelay } from "../core/rendezvous/relay-client.ts";
import { relayTransport } from "../core/rendezvous/relay-transport.ts";
import { roomOf } from "../core/rendezvous/room.ts";
import type { Side } from "../core/rendezvous/wire.ts";
import type { Endpoint, TransportDefinition } from "../plugin/api.ts";
import { parseEndpoint } from "./parse.ts";

export const DEFAULT_RELAY_PORT = 7879;
/** A side that waits at a relay is bounded by the relay's room expiry; this only guards against a silent relay. */
export const WAIT_AT_RELAY_MS = 60 * 60_000;

export interface RelayFlags {
  relay?: string;
  relayPassword?: string;
}

/** `--relay` wins over XFER_RELAY; null when neither names one. */
export function relayOf(flags: RelayFlags): Endpoint | null {
  const given = flags.relay ?? process.env.XFER_RELAY;
  return given === undefined || String(given) === "" ? null : parseEndpoint(String(given), DEFAULT_RELAY_PORT);
}

export function relayPasswordOf(flags: RelayFlags): string | undefined {
  const given = flags.relayPassword ?? process.env.XFER_RELAY_PASSWORD;
  return given === undefined || String(given) === "" ? undefined : String(given);
}

/** Through a relay the session runs over TCP to it; other transports need a direct address for now. */
export function checkRelayVia(via: string | undefined): void {
  if (via !== undefined && via !== "tcp-stream")
    throw new XferError(
      "usage",
      `through a relay the session runs over TCP (tcp-stream): --via ${via} needs a direct address (host[:port])`,
    );
}

export interface RelayedSide {
  relay: Endpoint;
  base: TransportDefinition<"stream">;
  side: Side;
  code: string;
  generated: boolean;
  password?: string;
  bytes?: number;
  emit: EventSink;
  onFailed?: (err: unknown) => void;
}

export function relayedTransport(s: RelayedSide): TransportDefinition<"stream"> {
  const where = describeRelay(s.relay);
  const code = s.generated ? ` --code ${s.code}` : "";
  const command =
    s.side === "send" ? `xfer recv${code} --relay ${where} [folder]` : `xfer send${code} --relay ${where} <files>`;
  return relayTransport({
    base: s.base,
    relay: s.relay,
    room: roomOf(s.code),
    side: s.side,
    password: s.password,
    bytes: s.bytes,
    onJoined: (joined) =>
      s.emit({
        event: "rendezvous",
        relay: where,
        room: roomOf(s.code),
        code: s.code,
        generated: s.generated,
        waiting: joined.waiting,
        command,
        seenAs: joined.you,
      }),
    onPaired: (relayed, joined) =>
      s.emit({
        event: "path",
        path: "relayed",
        via: where,
        rttMs: Number(joined.rttMs.toFixed(2)),
        peer: relayed.peer,
      }),
    onFailed: s.onFailed,
  });
}
