/** Which relay, if any, from the flags and variables, and the meeting there for a command. */
import { networkInterfaces } from "node:os";
import { XferError } from "../core/errors.ts";
import type { EventSink } from "../core/events.ts";
import type { DirectKind } from "../core/rendezvous/direct.ts";
import { broadcastAddresses } from "../core/rendezvous/discovery.ts";
import { type Meeting, meeting } from "../core/rendezvous/meeting.ts";
import { describeRelay } from "../core/rendezvous/relay-client.ts";
import type { MeetingStep } from "../core/rendezvous/trace.ts";
import type { Side } from "../core/rendezvous/wire.ts";
import type { AnyTransport, Endpoint, TransportDefinition } from "../plugin/api.ts";
import { parseEndpoint } from "./parse.ts";

export const DEFAULT_RELAY_PORT = 7879;
/** A side that waits at a relay is bounded by the relay's room expiry; this only guards against a silent relay. */
export const WAIT_AT_RELAY_MS = 60 * 60_000;

export interface RelayFlags {
  relay?: string;
  relayPassword?: string;
  relayOnly?: boolean;
}

/** `--relay` wins over XFER_RELAY; null when neither names one. */
export function relayOf(flags: RelayFlags): Endpoint | null {
  const given = flags.relay ?? process.env.XFER_RELAY;
  return given === undefined || String(given) === "" ? null : parseEndpoint(String(given), DEFAULT_RELAY_PORT);
}

/**
 * Where a sender with no destination asks for its receiver: every interface's IPv4 broadcast address,
 * or the addresses in XFER_DISCOVERY (comma-separated; "off": nowhere).
 */
export function discoveryTargets(): string[] {
  const given = process.env.XFER_DISCOVERY;
  if (given === "off") return [];
  if (given)
    return given
      .split(",")
      .map((a) => a.trim())
      .filter(Boolean);
  return broadcastAddresses(Object.values(networkInterfaces()).flatMap((list) => list ?? []));
}

/** XFER_DISCOVERY=off keeps a receiver from answering on the local network. */
export function answersDiscovery(): boolean {
  return process.env.XFER_DISCOVERY !== "off";
}

export function relayPasswordOf(flags: RelayFlags): string | undefined {
  const given = flags.relayPassword ?? process.env.XFER_RELAY_PASSWORD;
  return given === undefined || String(given) === "" ? undefined : String(given);
}

/** How a side that meets at a relay reaches it, and which direct paths it tries after the handshake. */
export interface RelayPlan {
  /** The stream transport to the relay and for direct TCP: tcp-stream. */
  base: TransportDefinition<"stream">;
  /** Offer direct TCP. */
  tcp: boolean;
  /** The transport that runs over a punched UDP path, when one is offered. */
  udp?: TransportDefinition<"stream">;
  /** Sender: which direct path wins when both work. */
  prefer: DirectKind;
}

/**
 * `--via` through a relay: none → direct TCP if it works, else punched udp-reliable, else the relay;
 * tcp-stream → direct TCP or the relay; a transport that runs over a punched path (udp-reliable) →
 * that, else the relay. Anything else needs a direct address.
 */
export function relayPlan(via: string | undefined, find: (name: string) => AnyTransport | undefined): RelayPlan {
  const base = find("tcp-stream");
  if (base?.kind !== "stream") throw new XferError("internal", "tcp-stream is not loaded");
  const punched = (t: AnyTransport | undefined) =>
    t?.kind === "stream" && t.capabilities?.udpPath ? (t as TransportDefinition<"stream">) : undefined;
  if (via === undefined) return { base, tcp: true, udp: punched(find("udp-reliable")), prefer: "direct" };
  if (via === "tcp-stream") return { base, tcp: true, prefer: "direct" };
  const udp = punched(find(via));
  if (udp) return { base, tcp: false, udp, prefer: "direct-udp" };
  throw new XferError(
    "usage",
    `through a relay the session runs over TCP (tcp-stream) or a punched UDP path (udp-reliable): --via ${via} needs a direct address (host[:port])`,
  );
}

export interface RelayedSide {
  relay: Endpoint;
  plan: RelayPlan;
  side: Side;
  code: string;
  /** Set when this side made the code up (see MeetingOptions.regenerate). */
  regenerate?: () => string;
  password?: string;
  bytes?: number;
  emit: EventSink;
  relayOnly: boolean;
  onFailed?: (err: unknown) => void;
}

/** The meeting at the relay, with the command the other side types. */
export function relayMeeting(s: RelayedSide): Meeting {
  const where = describeRelay(s.relay);
  const withCode = (code: string) => (s.regenerate ? ` --code ${code}` : "");
  return meeting({
    ...s,
    ...s.plan,
    command: (code) =>
      s.side === "send"
        ? `xfer recv${withCode(code)} --relay ${where} [folder]`
        : `xfer send${withCode(code)} --relay ${where} <files>`,
    direct: !s.relayOnly,
    interfaces: () => Object.values(networkInterfaces()).flatMap((list) => list ?? []),
    // XFER_MEETING_TRACE=1: each step's wall-clock time on stderr, for bench/punch.ts's timeline.
    ...(process.env.XFER_MEETING_TRACE
      ? {
          trace: (step: MeetingStep) =>
            process.stderr.write(`${JSON.stringify({ meeting: step, side: s.side, at: Date.now() })}\n`),
        }
      : {}),
  });
}
