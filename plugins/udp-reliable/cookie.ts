/**
 * Stateless handshake cookies (SCTP's State Cookie, QUIC's Retry token): the listener answers a
 * SYN with a MAC over everything it would need to remember, and allocates a connection only when
 * the cookie comes back intact, from the same address, within COOKIE_LIFETIME_MS. Spoofed SYNs
 * therefore cost the listener one small reply and no memory.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { TransportParams } from "./wire/packet.ts";
import { CID_BYTES, COOKIE_BYTES } from "./wire/packet.ts";
import { writeU48 } from "./wire/varint.ts";

export const COOKIE_LIFETIME_MS = 10_000;
const MAC_BYTES = COOKIE_BYTES - 6;

export interface CookieInput {
  peer: string;
  clientCid: Uint8Array;
  serverCid: Uint8Array;
  params: TransportParams;
}

export class CookieJar {
  private readonly key = randomBytes(32);

  /** `now` is a wall-clock-like ms counter of this process (it only has to be monotonic here). */
  mint(input: CookieInput, now: number): Uint8Array {
    const cookie = new Uint8Array(COOKIE_BYTES);
    const stamp = Math.max(0, Math.floor(now));
    writeU48(new DataView(cookie.buffer), 0, stamp);
    cookie.set(this.mac(input, stamp), 6);
    return cookie;
  }

  /** The time the cookie was minted if it is authentic and fresh, else null. */
  verify(cookie: Uint8Array, input: CookieInput, now: number): number | null {
    if (cookie.byteLength !== COOKIE_BYTES) return null;
    const view = new DataView(cookie.buffer, cookie.byteOffset, cookie.byteLength);
    const stamp = view.getUint16(0) * 2 ** 32 + view.getUint32(2);
    if (stamp > now + 1 || now - stamp > COOKIE_LIFETIME_MS) return null;
    const expected = this.mac(input, stamp);
    return timingSafeEqual(expected, cookie.subarray(6)) ? stamp : null;
  }

  private mac(input: CookieInput, stamp: number): Uint8Array {
    // Fixed-size fields first and the one variable-length field (the peer) last, so no two inputs
    // serialise to the same bytes (a shifted CID cannot be traded for a longer port).
    const fixed = new DataView(new ArrayBuffer(6 + 2 + 8 + 8));
    writeU48(fixed, 0, stamp);
    fixed.setUint16(6, input.params.maxDatagram);
    fixed.setFloat64(8, input.params.initialMaxData);
    fixed.setFloat64(16, input.params.idleTimeoutMs);
    const h = createHmac("sha256", this.key);
    h.update(new Uint8Array(fixed.buffer));
    h.update(input.clientCid.subarray(0, CID_BYTES));
    h.update(input.serverCid.subarray(0, CID_BYTES));
    h.update(input.peer);
    return h.digest().subarray(0, MAC_BYTES);
  }
}
