import { newHasher } from "../hashing.ts";

const encoder = new TextEncoder();
const HASH_BYTES = 32;
const HEX_HASH = /^[0-9a-f]{64}$/;

/**
 * Every verified file's name and hash, for the session's summary hash: a hash over the (name, hash)
 * list sorted by name. Packed (names as UTF-8 in one buffer, hashes as 32 bytes each) because a
 * Map of strings cost ~150 B a file, kept to the end: 150 MB for a 10^6-file tree on each side.
 * Names are unique in a session (the sender's walk and the receiver's name tables check it): two
 * equal ones are a bug, and digest() says so rather than hash a list the peer's differs from.
 */
export class FileHashes {
  private names = new Uint8Array(1 << 16);
  private namesUsed = 0;
  /** Where each name starts in `names`; entry `count` is where the next one will. */
  private starts = new Uint32Array(1 << 10);
  private hashes = new Uint8Array(HASH_BYTES << 10);
  private count = 0;
  /** The only file's hash as given (a one-file session's summary is that file's own hash). */
  private first = "";

  /** `hash`: lowercase hex BLAKE3, as the wire carries it (protocol/messages.ts checks it there). */
  add(name: string, hash: string): void {
    if (!HEX_HASH.test(hash)) throw new Error(`not a file hash: '${hash}'`);
    if (this.count === 0) this.first = hash;
    const bytes = encoder.encode(name);
    if (this.namesUsed + bytes.length > this.names.length)
      this.names = grow(this.names, Math.max(this.names.length * 2, this.namesUsed + bytes.length));
    if (this.count + 2 > this.starts.length) this.starts = grow(this.starts, this.starts.length * 2);
    if ((this.count + 1) * HASH_BYTES > this.hashes.length) this.hashes = grow(this.hashes, this.hashes.length * 2);
    this.names.set(bytes, this.namesUsed);
    this.namesUsed += bytes.length;
    Buffer.from(this.hashes.buffer, this.hashes.byteOffset).write(hash, this.count * HASH_BYTES, "hex");
    this.count++;
    this.starts[this.count] = this.namesUsed;
  }

  /** Files added. */
  get size(): number {
    return this.count;
  }

  /** The summary hash: the file's own for one file; for several, BLAKE3 over `name\0hash\n` lines sorted by name. */
  async digest(): Promise<string> {
    if (this.count === 1) return this.first;
    const order = new Uint32Array(this.count);
    for (let i = 0; i < this.count; i++) order[i] = i;
    order.sort((a, b) => this.compare(a, b));
    const h = await newHasher();
    const hex = Buffer.from(this.hashes.buffer, this.hashes.byteOffset, this.count * HASH_BYTES);
    // The lines go to the hasher in 64 KiB batches: a call per line cost more than the hashing.
    const batch = Buffer.alloc(1 << 16);
    let used = 0;
    for (let k = 0; k < order.length; k++) {
      const i = order[k]!;
      if (k + 1 < order.length && this.compare(i, order[k + 1]!) === 0)
        throw new Error(`'${new TextDecoder().decode(this.name(i))}' was added twice`);
      const name = this.name(i);
      const line = name.length + 2 + 2 * HASH_BYTES;
      if (used + line > batch.length) {
        h.update(batch.subarray(0, used));
        used = 0;
      }
      if (line > batch.length) {
        h.update(name);
        h.update(encoder.encode(`\0${hex.toString("hex", i * HASH_BYTES, (i + 1) * HASH_BYTES)}\n`));
        continue;
      }
      batch.set(name, used);
      used += name.length;
      batch[used++] = 0;
      used += batch.write(hex.toString("hex", i * HASH_BYTES, (i + 1) * HASH_BYTES), used, "latin1");
      batch[used++] = 0x0a;
    }
    h.update(batch.subarray(0, used));
    return h.digest();
  }

  private name(i: number): Uint8Array {
    return this.names.subarray(this.starts[i]!, this.starts[i + 1]!);
  }

  /**
   * Names i and j in JavaScript's string order (UTF-16 code units), which the summary hash has always
   * used, on their UTF-8 bytes. Byte order is code point order; the two differ only where a character
   * above U+FFFF (4 bytes, lead F0–F4; surrogates D800–DBFF in UTF-16) meets one in U+E000–U+FFFF
   * (lead EE or EF): UTF-16 puts the surrogate first. The first differing byte of two valid UTF-8
   * strings is a lead byte on both sides when either is one of those.
   */
  private compare(i: number, j: number): number {
    const { names, starts } = this;
    let a = starts[i]!;
    let b = starts[j]!;
    const aEnd = starts[i + 1]!;
    const bEnd = starts[j + 1]!;
    for (; a < aEnd && b < bEnd; a++, b++) {
      const x = names[a]!;
      const y = names[b]!;
      if (x === y) continue;
      if (x >= 0xf0 && (y === 0xee || y === 0xef)) return -1;
      if (y >= 0xf0 && (x === 0xee || x === 0xef)) return 1;
      return x - y;
    }
    return aEnd - a - (bEnd - b);
  }
}

function grow<T extends Uint8Array | Uint32Array>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}
