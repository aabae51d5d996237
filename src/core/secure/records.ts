/**
 * The record layer of an authenticated stream session (docs/PROTOCOL.md §1.5): after the handshake
 * every byte either way travels inside AES-256-GCM records
 *
 *   [length u32 BE = ciphertext + tag][ciphertext][tag 16]
 *
 * with the 4 length bytes as associated data and a nonce of 4 zero bytes and the record's number
 * (u64 BE), counted per direction from 0. Each direction has its own key, so a nonce never repeats
 * under one key, and a record cut, reordered, replayed or reflected back fails to open.
 */
import { createCipheriv, createDecipheriv, type DecipherGCM } from "node:crypto";
import { handOver } from "../../plugin/owned-chunks.ts";
import { XferError } from "../errors.ts";

export const RECORD_HEADER_BYTES = 4;
export const TAG_BYTES = 16;
/** One session frame of the largest kind (1 MiB data and its header) fits one record, with room to spare. */
export const MAX_RECORD_PLAINTEXT = (1 << 20) + 64;
/** Far below AES-GCM's limits for one key; a session that reaches it (4 PiB) stops rather than wrap. */
const MAX_RECORDS = 2 ** 32;
const CIPHER = "aes-256-gcm";

export function nonceOf(counter: number): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeUInt32BE(Math.floor(counter / 2 ** 32), 4);
  nonce.writeUInt32BE(counter >>> 0, 8);
  return nonce;
}

export class RecordSealer {
  private counter = 0;
  constructor(private readonly key: Uint8Array) {}

  /** Records sealed so far: the next record's number. */
  get sealed(): number {
    return this.counter;
  }

  /** Seal `plaintext` (at most MAX_RECORD_PLAINTEXT bytes) into one record. */
  seal(plaintext: Uint8Array): Uint8Array {
    return Buffer.concat(this.sealParts(plaintext));
  }

  /**
   * The record as its three parts, header, ciphertext and tag, for a writer that sends them one
   * after the other: joining them would copy every byte into yet another fresh buffer. The
   * ciphertext is handed over (src/plugin/owned-chunks.ts): the writer may release it once written.
   */
  sealParts(plaintext: Uint8Array): Uint8Array[] {
    if (plaintext.byteLength > MAX_RECORD_PLAINTEXT) throw new RangeError("record plaintext too large");
    if (this.counter >= MAX_RECORDS) throw new XferError("protocol", "session too long for one key");
    const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
    header.writeUInt32BE(plaintext.byteLength + TAG_BYTES);
    const cipher = createCipheriv(CIPHER, this.key, nonceOf(this.counter++));
    cipher.setAAD(header);
    const body = handOver(cipher.update(plaintext));
    cipher.final();
    return [header, body, cipher.getAuthTag()];
  }
}

/**
 * Incremental opener: push() transport chunks of any size, get back the plaintext of every record
 * completed by them. Ciphertext is deciphered as it arrives (no gathering copy of each record), but
 * nothing of a record is released before its tag verified. The plaintext pieces are fresh buffers,
 * handed over (src/plugin/owned-chunks.ts) to whoever reads them last; push() keeps no reference
 * to `chunk`.
 */
export class RecordOpener {
  private counter = 0;
  private readonly header = Buffer.alloc(RECORD_HEADER_BYTES);
  private headerFill = 0;
  private decipher: DecipherGCM | null = null;
  /** Ciphertext bytes of the current record still to come. */
  private cipherLeft = 0;
  private readonly tag = Buffer.alloc(TAG_BYTES);
  private tagFill = 0;
  /** Deciphered but not yet authenticated plaintext of the current record. */
  private held: Uint8Array[] = [];

  constructor(private readonly key: Uint8Array) {}

  /** True when the stream may end here (no record half-received). */
  get atBoundary(): boolean {
    return this.headerFill === 0;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let pos = 0;
    while (pos < chunk.byteLength) {
      if (this.headerFill < RECORD_HEADER_BYTES) {
        const take = Math.min(RECORD_HEADER_BYTES - this.headerFill, chunk.byteLength - pos);
        this.header.set(chunk.subarray(pos, pos + take), this.headerFill);
        this.headerFill += take;
        pos += take;
        if (this.headerFill === RECORD_HEADER_BYTES) this.startRecord();
        continue;
      }
      if (this.cipherLeft > 0) {
        const take = Math.min(this.cipherLeft, chunk.byteLength - pos);
        this.held.push(handOver((this.decipher as DecipherGCM).update(chunk.subarray(pos, pos + take))));
        this.cipherLeft -= take;
        pos += take;
        continue;
      }
      const take = Math.min(TAG_BYTES - this.tagFill, chunk.byteLength - pos);
      this.tag.set(chunk.subarray(pos, pos + take), this.tagFill);
      this.tagFill += take;
      pos += take;
      if (this.tagFill === TAG_BYTES) out.push(...this.finishRecord());
    }
    return out;
  }

  private startRecord(): void {
    const length = this.header.readUInt32BE(0);
    if (length < TAG_BYTES || length > MAX_RECORD_PLAINTEXT + TAG_BYTES)
      throw new XferError("tampered", `a record of ${length} bytes cannot be ours: the stream was altered`);
    this.decipher = createDecipheriv(CIPHER, this.key, nonceOf(this.counter++));
    this.decipher.setAAD(this.header);
    this.cipherLeft = length - TAG_BYTES;
    this.tagFill = 0;
  }

  private finishRecord(): Uint8Array[] {
    const decipher = this.decipher as DecipherGCM;
    const plaintext = this.held;
    this.held = [];
    this.decipher = null;
    this.headerFill = 0;
    decipher.setAuthTag(this.tag);
    try {
      decipher.final();
    } catch {
      throw new XferError("tampered", "a record failed authentication: the data was altered on the way");
    }
    return plaintext.filter((p) => p.byteLength > 0);
  }
}
