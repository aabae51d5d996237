/**
 * The relay protocol v1 (docs/PROTOCOL.md §4): a few small framed messages before the relay pairs
 * two peers, then nothing of its own — the bytes that follow are the peers' sealed session.
 * Pure: both the relay and its clients use it.
 */
import { z } from "zod";
import { XferError } from "../errors.ts";

export const RELAY_PROTOCOL_VERSION = 1;
/** Bytes of the big-endian length before each message. */
export const RELAY_FRAME_HEADER_BYTES = 2;
/** A join carries a room, a side, an optional password and a size: nothing bigger is read. */
export const MAX_RELAY_MESSAGE_BYTES = 1024;

/** Room names are the non-secret part of a code: its leading number (see room.ts). */
export const RoomName = z.string().regex(/^[0-9]{1,9}$/, "a room is the code's leading number");
export type Side = "send" | "recv";

export const JoinMessage = z.strictObject({
  type: z.literal("join"),
  relay: z.number().int(),
  room: RoomName,
  side: z.enum(["send", "recv"]),
  password: z.string().max(256).optional(),
  /** The sender's declared bytes, so that a room too small for them is refused before anything moves. */
  bytes: z.number().int().nonnegative().optional(),
  /** Asks for a reflection token (§4.2): the client will punch UDP. A relay from before it refuses the field. */
  udp: z.literal(true).optional(),
  /**
   * The session bytes on this connection start padded (padded.ts, revision 1.3), both ways. A relay from
   * before it refuses the field; one that takes it pads what it forwards here, whatever the other side asked.
   */
  padded: z.literal(true).optional(),
});
export type JoinMessage = z.infer<typeof JoinMessage>;

export const REFUSAL_CODES = [
  "version",
  "bad-request",
  "password",
  "room-taken",
  "full",
  "address-limit",
  "quota",
  "expired",
] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

/** Addresses are as the relay saw them ("203.0.113.5:40122"), for people and, later, direct attempts. */
const Address = z.string().max(64);
/** The reflection token (§4.2), hex; in `paired`, when both sides' joins asked with `udp`. */
const Token = z.string().regex(/^[0-9a-f]{32}$/);

export const RelayReply = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("waiting"), you: Address, expiresInSeconds: z.number().nonnegative() }),
  z.strictObject({ type: z.literal("paired"), you: Address, peer: Address, token: Token.optional() }),
  z.strictObject({ type: z.literal("refused"), code: z.enum(REFUSAL_CODES), reason: z.string().max(300) }),
]);
export type RelayReply = z.infer<typeof RelayReply>;

export function encodeRelayMessage(message: JoinMessage | RelayReply): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(message));
  if (body.byteLength > MAX_RELAY_MESSAGE_BYTES) throw new XferError("internal", "relay message too large");
  const frame = new Uint8Array(RELAY_FRAME_HEADER_BYTES + body.byteLength);
  new DataView(frame.buffer).setUint16(0, body.byteLength);
  frame.set(body, RELAY_FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Splits incoming bytes into messages, bounded: a length over the limit, or a body that is not the
 * expected JSON, is a protocol error. Bytes after a message stay for whoever reads next (the session,
 * once paired); the relay bounds what it buffers itself (`buffered`).
 */
export class RelayFrameDecoder {
  private bufferedBytes = new Uint8Array(0);

  push(chunk: Uint8Array): void {
    const joined = new Uint8Array(this.bufferedBytes.byteLength + chunk.byteLength);
    joined.set(this.bufferedBytes);
    joined.set(chunk, this.bufferedBytes.byteLength);
    this.bufferedBytes = joined;
  }

  get buffered(): number {
    return this.bufferedBytes.byteLength;
  }

  /** The next whole message's raw JSON value, or null when more bytes are needed. */
  next(): unknown | null {
    if (this.bufferedBytes.byteLength < RELAY_FRAME_HEADER_BYTES) return null;
    const length = new DataView(this.bufferedBytes.buffer, this.bufferedBytes.byteOffset).getUint16(0);
    if (length === 0 || length > MAX_RELAY_MESSAGE_BYTES)
      throw new XferError("protocol", `relay message of ${length} bytes (1 to ${MAX_RELAY_MESSAGE_BYTES} allowed)`);
    if (this.bufferedBytes.byteLength < RELAY_FRAME_HEADER_BYTES + length) return null;
    const body = this.bufferedBytes.subarray(RELAY_FRAME_HEADER_BYTES, RELAY_FRAME_HEADER_BYTES + length);
    this.bufferedBytes = this.bufferedBytes.slice(RELAY_FRAME_HEADER_BYTES + length);
    try {
      return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
    } catch {
      throw new XferError("protocol", "relay message is not JSON");
    }
  }

  /** Bytes received after the last message read. */
  takeRest(): Uint8Array {
    const rest = this.bufferedBytes;
    this.bufferedBytes = new Uint8Array(0);
    return rest;
  }
}

export function parseJoin(raw: unknown): JoinMessage {
  const parsed = JoinMessage.safeParse(raw);
  if (!parsed.success) throw new XferError("protocol", `invalid join: ${parsed.error.issues[0]?.message ?? "?"}`);
  return parsed.data;
}

export function parseReply(raw: unknown): RelayReply {
  const parsed = RelayReply.safeParse(raw);
  if (!parsed.success) throw new XferError("protocol", "the relay sent an invalid reply (is it an xfer relay?)");
  return parsed.data;
}
