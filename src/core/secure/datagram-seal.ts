/**
 * Sealed datagrams of an authenticated datagram session (docs/PROTOCOL.md §3.5):
 *
 *   [0x04][counter u64 BE][ciphertext][tag 16]
 *
 * AES-256-GCM with one key per direction, the 9 header bytes as associated data and the counter as
 * the nonce (4 zero bytes, then the counter). The counter counts every datagram sent in that
 * direction, so a nonce never repeats; the opener drops what fails its tag (forged, altered) and
 * what it has already opened or is too old to tell (replayed), and counts both.
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { XferError } from "../errors.ts";
import { nonceOf, TAG_BYTES } from "./records.ts";

/** First byte of a sealed datagram: beside the cleartext kinds of src/core/datagram/codec.ts. */
export const SEALED_KIND = 4;
export const SEALED_HEADER_BYTES = 1 + 8;
export const SEALED_OVERHEAD = SEALED_HEADER_BYTES + TAG_BYTES;
/** How far behind the newest counter a datagram may arrive and still be opened (reordering). */
export const REPLAY_WINDOW = 1 << 16;
const MAX_DATAGRAMS = 2 ** 48;
const CIPHER = "aes-256-gcm";

export class DatagramSealer {
  private counter = 0;
  constructor(private readonly key: Uint8Array) {}

  seal(plaintext: Uint8Array): Uint8Array {
    if (this.counter >= MAX_DATAGRAMS) throw new XferError("protocol", "session too long for one key");
    const counter = this.counter++;
    const out = Buffer.allocUnsafe(SEALED_OVERHEAD + plaintext.byteLength);
    out[0] = SEALED_KIND;
    out.writeUInt32BE(Math.floor(counter / 2 ** 32), 1);
    out.writeUInt32BE(counter >>> 0, 5);
    const cipher = createCipheriv(CIPHER, this.key, nonceOf(counter));
    cipher.setAAD(out.subarray(0, SEALED_HEADER_BYTES));
    out.set(cipher.update(plaintext), SEALED_HEADER_BYTES);
    cipher.final();
    out.set(cipher.getAuthTag(), SEALED_HEADER_BYTES + plaintext.byteLength);
    return out;
  }
}

export class DatagramOpener {
  /** Datagrams whose tag did not verify: forged, altered, or sealed under another key. */
  forged = 0;
  /** Datagrams already opened once, or older than the replay window. */
  replayed = 0;
  private newest = -1;
  private readonly seen = new Uint8Array(REPLAY_WINDOW / 8);

  constructor(private readonly key: Uint8Array) {}

  /** The plaintext, or null (dropped and counted). `datagram` must start with SEALED_KIND. */
  open(datagram: Uint8Array): Uint8Array | null {
    if (datagram.byteLength < SEALED_OVERHEAD) {
      this.forged++;
      return null;
    }
    const view = new DataView(datagram.buffer, datagram.byteOffset, SEALED_HEADER_BYTES);
    const counter = view.getUint32(1) * 2 ** 32 + view.getUint32(5);
    if (this.wasSeen(counter)) {
      this.replayed++;
      return null;
    }
    const split = datagram.byteLength - TAG_BYTES;
    const decipher = createDecipheriv(CIPHER, this.key, nonceOf(counter));
    decipher.setAAD(datagram.subarray(0, SEALED_HEADER_BYTES));
    decipher.setAuthTag(datagram.subarray(split));
    const plaintext = decipher.update(datagram.subarray(SEALED_HEADER_BYTES, split));
    try {
      decipher.final();
    } catch {
      this.forged++;
      return null;
    }
    // Only an authentic datagram moves the window: forgeries cannot push real ones out of it.
    this.markSeen(counter);
    return plaintext;
  }

  private wasSeen(counter: number): boolean {
    if (counter > this.newest) return false;
    if (counter <= this.newest - REPLAY_WINDOW) return true;
    const slot = counter % REPLAY_WINDOW;
    return ((this.seen[slot >> 3] as number) & (1 << (slot & 7))) !== 0;
  }

  private markSeen(counter: number): void {
    if (counter > this.newest) {
      // Forget the slots the window slides past (all of them after a jump of a window or more).
      const slide = Math.min(counter - this.newest, REPLAY_WINDOW);
      for (let c = counter - slide + 1; c <= counter; c++) {
        const slot = c % REPLAY_WINDOW;
        this.seen[slot >> 3] = (this.seen[slot >> 3] as number) & ~(1 << (slot & 7));
      }
      this.newest = counter;
    }
    const slot = counter % REPLAY_WINDOW;
    this.seen[slot >> 3] = (this.seen[slot >> 3] as number) | (1 << (slot & 7));
  }
}
