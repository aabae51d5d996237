import { newHasher } from "../hashing.ts";
import type { NameSource } from "../name-table.ts";

const encoder = new TextEncoder();
const HASH_BYTES = 32;
const HEX_HASH = /^[0-9a-f]{64}$/;
const HEX_DIGITS = encoder.encode("0123456789abcdef");

/**
 * Every verified file's name and hash, for the session's summary hash: a hash over the (name, hash)
 * list sorted by name. Packed (names as UTF-8 in one buffer, hashes as 32 bytes each) because a
 * Map of strings cost ~150 B a file, kept to the end: 150 MB for a 10^6-file tree on each side.
 * Names are unique in a session (the sender's walk and the receiver's name tables check it): two
 * equal ones are a bug, and digest() says so rather than hash a list the peer's differs from.
 */
export class FileHashes {
  private names = Buffer.alloc(1 << 16);
  private namesUsed = 0;
  /**
   * Where each name starts in `names`; entry `count` is where the next one will. With a NameSource:
   * each name's number there instead.
   */
  private starts = new Uint32Array(1 << 10);
  private hashes = Buffer.alloc(HASH_BYTES << 10);
  private count = 0;
  /** The only file's hash as given (a one-file session's summary is that file's own hash). */
  private first = "";

  /**
   * `source`: a table that already holds every name that will be added (the receiver's offered
   * names): each is kept as its number there, not as a second copy (~35 B a file: 35 MB at 10^6).
   */
  constructor(private readonly source?: NameSource) {}

  /** `hash`: lowercase hex BLAKE3, as the wire carries it (protocol/messages.ts checks it there). */
  add(name: string, hash: string): void {
    if (!HEX_HASH.test(hash)) throw new Error(`not a file hash: '${hash}'`);
    if (this.count === 0) this.first = hash;
    if (this.count + 2 > this.starts.length) this.starts = grow(this.starts, this.starts.length * 2);
    if ((this.count + 1) * HASH_BYTES > this.hashes.length) this.hashes = grow(this.hashes, this.hashes.length * 2);
    if (this.source) {
      const id = this.source.idOf(name);
      if (id < 0) throw new Error(`'${name}' is not among the offered names`);
      this.starts[this.count] = id;
    } else {
      // Written in place (no array a file: at 10^6 files the garbage cost more than the table).
      const length = Buffer.byteLength(name);
      if (this.namesUsed + length > this.names.length)
        this.names = grow(this.names, Math.max(this.names.length * 2, this.namesUsed + length));
      this.namesUsed += this.names.write(name, this.namesUsed, "utf8");
      this.starts[this.count + 1] = this.namesUsed;
    }
    this.hashes.write(hash, this.count * HASH_BYTES, "hex");
    this.count++;
  }

  /** Each name's bytes, as where they start and end in one buffer (for digest()). */
  private bounds(): { bytes: Uint8Array; begin: Uint32Array; end: Uint32Array } {
    const { source, starts, count } = this;
    // Our own names: views of `starts`, nothing copied.
    if (!source) return { bytes: this.names, begin: starts.subarray(0, count), end: starts.subarray(1, count + 1) };
    const begin = new Uint32Array(count);
    const end = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
      begin[i] = source.startOf(starts[i]!);
      end[i] = source.startOf(starts[i]! + 1);
    }
    return { bytes: source.bytes, begin, end };
  }

  /** Files added. */
  get size(): number {
    return this.count;
  }

  /** The summary hash: the file's own for one file; for several, BLAKE3 over `name\0hash\n` lines sorted by name. */
  async digest(): Promise<string> {
    if (this.count === 1) return this.first;
    const { bytes: names, begin, end: finish } = this.bounds();
    const compare = (i: number, j: number) => compareNames(names, begin[i]!, finish[i]!, begin[j]!, finish[j]!);
    const order = new Uint32Array(this.count);
    for (let i = 0; i < this.count; i++) order[i] = i;
    order.sort(compare);
    const h = await newHasher();
    // The lines go to the hasher in 64 KiB batches: a call per line cost more than the hashing.
    const batch = Buffer.alloc(1 << 16);
    let used = 0;
    for (let k = 0; k < order.length; k++) {
      const i = order[k]!;
      const start = begin[i]!;
      const end = finish[i]!;
      if (k + 1 < order.length && compare(i, order[k + 1]!) === 0)
        throw new Error(`'${Buffer.from(names.subarray(start, end)).toString("utf8")}' was added twice`);
      const line = end - start + 2 + 2 * HASH_BYTES;
      if (used + line > batch.length) {
        h.update(batch.subarray(0, used));
        used = 0;
      }
      if (line > batch.length) {
        h.update(names.subarray(start, end));
        h.update(encoder.encode(`\0${this.hashes.toString("hex", i * HASH_BYTES, (i + 1) * HASH_BYTES)}\n`));
        continue;
      }
      // Byte by byte: a subarray a line was 10^6 views, +90 MB of garbage at the end of a session.
      for (let b = start; b < end; b++) batch[used++] = names[b]!;
      batch[used++] = 0;
      for (let b = i * HASH_BYTES; b < (i + 1) * HASH_BYTES; b++) {
        const byte = this.hashes[b]!;
        batch[used++] = HEX_DIGITS[byte >> 4]!;
        batch[used++] = HEX_DIGITS[byte & 15]!;
      }
      batch[used++] = 0x0a;
    }
    h.update(batch.subarray(0, used));
    return h.digest();
  }
}

/**
 * Two names in JavaScript's string order (UTF-16 code units), which the summary hash has always
 * used, on their UTF-8 bytes. Byte order is code point order; the two differ only where a character
 * above U+FFFF (4 bytes, lead F0–F4; surrogates D800–DBFF in UTF-16) meets one in U+E000–U+FFFF
 * (lead EE or EF): UTF-16 puts the surrogate first. The first differing byte of two valid UTF-8
 * strings is a lead byte on both sides when either is one of those.
 */
function compareNames(names: Uint8Array, a: number, aEnd: number, b: number, bEnd: number): number {
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

function grow<T extends Buffer | Uint32Array>(a: T, length: number): T {
  const b = (a instanceof Buffer ? Buffer.alloc(length) : new Uint32Array(length)) as T;
  b.set(a);
  return b;
}
