/**
 * The path messages two peers exchange inside their sealed session once the relay has paired them
 * (docs/PROTOCOL.md §4.1), and the candidates each offers. Pure.
 */
import { z } from "zod";
import { XferError } from "../errors.ts";

/** A peer offers at most this many addresses to try. */
export const MAX_CANDIDATES = 16;
export const PRELUDE_HEADER_BYTES = 4;
export const MAX_PRELUDE_BYTES = 4096;

const Candidate = z.string().regex(/^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):\d{1,5}$/, "host:port");

export const PathMessage = z.discriminatedUnion("type", [
  /**
   * Both sides, first: where this side listens for a direct connection, and whether it tries one at
   * all (false: it neither dials nor accepts; the session stays on the relay at once).
   */
  z.strictObject({
    type: z.literal("paths"),
    candidates: z.array(Candidate).max(MAX_CANDIDATES),
    direct: z.boolean(),
    /**
     * Where this side's punching socket may be reached (its local addresses and the one the relay's
     * reflection saw), and the tag the other side's probes must carry (§4.2). Absent: no UDP path.
     */
    udp: z
      .strictObject({
        candidates: z.array(Candidate).max(MAX_CANDIDATES),
        tag: z.string().regex(/^[0-9a-f]{32}$/),
      })
      .optional(),
  }),
  /** Sender, over the relay: the session goes on over a direct connection, or stays on the relay. */
  z.strictObject({ type: z.literal("use"), path: z.enum(["direct", "relay"]) }),
  /** Sender, first thing on the direct connection it chose. */
  z.strictObject({ type: z.literal("chosen") }),
]);
export type PathMessage = z.infer<typeof PathMessage>;

export function encodePathMessage(message: PathMessage): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(message));
  const out = new Uint8Array(PRELUDE_HEADER_BYTES + body.byteLength);
  new DataView(out.buffer).setUint32(0, body.byteLength);
  out.set(body, PRELUDE_HEADER_BYTES);
  return out;
}

export function parsePathMessage(body: Uint8Array): PathMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    throw new XferError("protocol", "the peer's path message is not JSON");
  }
  const parsed = PathMessage.safeParse(raw);
  if (!parsed.success) throw new XferError("protocol", "the peer sent an invalid path message");
  return parsed.data;
}

export interface LocalAddress {
  address: string;
  family: string | number;
  internal: boolean;
}

/** "203.0.113.5:40122" or "[2001:db8::1]:9" → host without brackets. */
export function hostPart(address: string): string {
  const m = /^\[(.*)\]:\d+$/.exec(address) ?? /^(.*):\d+$/.exec(address);
  return m ? m[1]! : address;
}

/**
 * Where this side can be reached on `port`: its interfaces' IPv4 addresses, the address the relay saw
 * (a public one, for a host with a forwarded port or no NAT), and loopback only when the relay saw both
 * sides at one address (the same machine, or one NAT: then the LAN addresses are what works).
 */
export function candidatesFor(
  port: number,
  interfaces: readonly LocalAddress[],
  seenAs: string,
  peerSeenAs: string,
): string[] {
  const sameOutside = hostPart(seenAs) === hostPart(peerSeenAs);
  const hosts: string[] = [];
  for (const i of interfaces)
    if ((i.family === "IPv4" || i.family === 4) && (!i.internal || sameOutside)) hosts.push(i.address);
  const seen = hostPart(seenAs);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(seen)) hosts.push(seen);
  return [...new Set(hosts)].slice(0, MAX_CANDIDATES).map((h) => `${h}:${port}`);
}

/**
 * The punching socket's candidates: as candidatesFor, on its port, plus the address the relay's UDP
 * reflection saw (a NAT may have given it another port than the local one).
 */
export function udpCandidatesFor(
  port: number,
  interfaces: readonly LocalAddress[],
  seenAs: string,
  peerSeenAs: string,
  reflected: string | null,
): string[] {
  const local = candidatesFor(port, interfaces, seenAs, peerSeenAs);
  const all = reflected && /^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$/.test(reflected) ? [reflected, ...local] : local;
  return [...new Set(all)].slice(0, MAX_CANDIDATES);
}
