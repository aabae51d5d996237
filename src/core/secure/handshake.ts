/**
 * The session handshake (docs/SECURITY.md, "Handshake"): CPace over ristretto255 keyed by the code,
 * then explicit key confirmation, then one AES-256-GCM key per direction. Pure: each side is an
 * object that takes the peer's message and returns what to send; the transports' I/O lives in
 * stream-handshake.ts and sealed-datagrams.ts.
 *
 *   sender                                   receiver
 *   pake(Ya)                  ───────────▶
 *                             ◀─────────── pake-reply(Yb, confirm_r)
 *   confirm(confirm_s)        ───────────▶   (datagram sessions: the first sealed datagram that opens)
 *   sealed records / datagrams ◀─────────▶
 */
import { timingSafeEqual } from "node:crypto";
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { z } from "zod";
import { XferError } from "../errors.ts";
import { PROTOCOL_NAME, SESSION_PROTOCOL_VERSION } from "../protocol/messages.ts";
import { CpaceError, type CpaceShare, cpaceIsk, cpaceShare } from "./cpace.ts";

/** What both sides must agree on besides the code; any difference makes the keys differ. */
export interface HandshakeContext {
  /** "stream" or "datagram": the session protocol the keys are for. */
  kind: string;
  /** The transport's name: a key made for one transport is useless on another. */
  transport: string;
}

export interface SessionKeys {
  /** Seals what this side sends. */
  send: Uint8Array;
  /** Opens what the peer sends. */
  receive: Uint8Array;
}

const hex32 = z.string().regex(/^[0-9a-f]{64}$/);
export const HandshakeMessage = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("pake"),
    protocol: z.literal(PROTOCOL_NAME),
    version: z.number().int(),
    element: hex32,
  }),
  z.object({ type: z.literal("pake-reply"), element: hex32, confirm: hex32 }),
  z.object({ type: z.literal("confirm"), confirm: hex32 }),
  /** Unauthenticated by nature: it only ever ends a handshake that could not succeed anyway. */
  z.object({ type: z.literal("auth-failed"), message: z.string().max(200) }),
]);
export type HandshakeMessage = z.infer<typeof HandshakeMessage>;
type Of<T extends HandshakeMessage["type"]> = Extract<HandshakeMessage, { type: T }>;

export const WRONG_CODE_MESSAGE = "wrong code: the other side's code does not match (nothing was sent)";

const enc = new TextEncoder();

function label(ctx: HandshakeContext, role: "sender" | "receiver"): Uint8Array {
  return enc.encode(`${PROTOCOL_NAME}/${SESSION_PROTOCOL_VERSION} ${role} ${ctx.kind} ${ctx.transport}`);
}

function channelId(ctx: HandshakeContext): Uint8Array {
  return enc.encode(`${PROTOCOL_NAME}/${SESSION_PROTOCOL_VERSION} ${ctx.kind} ${ctx.transport}`);
}

interface Derived {
  senderToReceiver: Uint8Array;
  receiverToSender: Uint8Array;
  confirmSender: Uint8Array;
  confirmReceiver: Uint8Array;
}

/** Separate keys per direction and per confirmation, all from the ISK (HKDF-SHA-512). */
export function deriveKeys(isk: Uint8Array): Derived {
  const key = (info: string) => hkdf(sha512, isk, undefined, enc.encode(`xfer/2 ${info}`), 32);
  return {
    senderToReceiver: key("sender to receiver"),
    receiverToSender: key("receiver to sender"),
    confirmSender: key("confirm sender"),
    confirmReceiver: key("confirm receiver"),
  };
}

function confirmTag(key: Uint8Array, role: string, ya: Uint8Array, yb: Uint8Array): string {
  const mac = hmac.create(sha512, key);
  mac.update(enc.encode(role));
  mac.update(ya);
  mac.update(yb);
  return bytesToHex(mac.digest().subarray(0, 32));
}

function sameTag(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

function isk(
  own: CpaceShare,
  ownAd: Uint8Array,
  peerHex: string,
  peerAd: Uint8Array,
  initiator: boolean,
): { isk: Uint8Array; peer: Uint8Array } {
  const peer = hexToBytes(peerHex);
  try {
    return { isk: cpaceIsk(own, ownAd, peer, peerAd, initiator, new Uint8Array(0)), peer };
  } catch (err) {
    if (err instanceof CpaceError)
      throw new XferError("auth", `the peer's key share is invalid (${(err as Error).message})`);
    throw err;
  }
}

/** The sender's side: it speaks first. */
export class InitiatorHandshake {
  private readonly share: CpaceShare;
  readonly first: Of<"pake">;

  constructor(
    code: string,
    private readonly ctx: HandshakeContext,
    random?: (n: number) => Uint8Array,
  ) {
    this.share = cpaceShare(enc.encode(code), channelId(ctx), new Uint8Array(0), random);
    this.first = {
      type: "pake",
      protocol: PROTOCOL_NAME,
      version: SESSION_PROTOCOL_VERSION,
      element: bytesToHex(this.share.element),
    };
  }

  /** Checks the receiver's confirmation; throws XferError("auth") when the codes differ. */
  onReply(msg: Of<"pake-reply">): { send: Of<"confirm">; keys: SessionKeys } {
    const { isk: k, peer } = isk(this.share, label(this.ctx, "sender"), msg.element, label(this.ctx, "receiver"), true);
    const d = deriveKeys(k);
    if (!sameTag(msg.confirm, confirmTag(d.confirmReceiver, "receiver", this.share.element, peer)))
      throw new XferError("auth", WRONG_CODE_MESSAGE);
    return {
      send: { type: "confirm", confirm: confirmTag(d.confirmSender, "sender", this.share.element, peer) },
      keys: { send: d.senderToReceiver, receive: d.receiverToSender },
    };
  }
}

/** The receiver's side. A repeated pake (a lost reply, over datagrams) gets the same reply. */
export class ResponderHandshake {
  private readonly share: CpaceShare;
  private answered: { element: string; reply: Of<"pake-reply">; expect: string; keys: SessionKeys } | null = null;

  constructor(
    code: string,
    private readonly ctx: HandshakeContext,
    random?: (n: number) => Uint8Array,
  ) {
    this.share = cpaceShare(enc.encode(code), channelId(ctx), new Uint8Array(0), random);
  }

  onPake(msg: Of<"pake">): Of<"pake-reply"> {
    if (msg.version !== SESSION_PROTOCOL_VERSION)
      throw new XferError(
        "version",
        `peer speaks xfer session protocol v${msg.version}, this is v${SESSION_PROTOCOL_VERSION}`,
      );
    if (this.answered) {
      if (this.answered.element === msg.element) return this.answered.reply;
      throw new XferError("protocol", "peer changed its key share mid-handshake");
    }
    const { isk: k, peer } = isk(
      this.share,
      label(this.ctx, "receiver"),
      msg.element,
      label(this.ctx, "sender"),
      false,
    );
    const d = deriveKeys(k);
    const reply: Of<"pake-reply"> = {
      type: "pake-reply",
      element: bytesToHex(this.share.element),
      confirm: confirmTag(d.confirmReceiver, "receiver", peer, this.share.element),
    };
    this.answered = {
      element: msg.element,
      reply,
      expect: confirmTag(d.confirmSender, "sender", peer, this.share.element),
      keys: { send: d.receiverToSender, receive: d.senderToReceiver },
    };
    return reply;
  }

  /**
   * The keys, once the sender proved it holds them: by its confirm message (stream sessions), or,
   * with no message, by a sealed datagram that opened under them (datagram sessions).
   */
  keys(confirm?: Of<"confirm">): SessionKeys {
    if (!this.answered) throw new XferError("protocol", "peer confirmed before the key exchange");
    if (confirm && !sameTag(confirm.confirm, this.answered.expect)) throw new XferError("auth", WRONG_CODE_MESSAGE);
    return this.answered.keys;
  }
}
