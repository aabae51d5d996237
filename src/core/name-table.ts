/**
 * A set of strings kept as UTF-8 bytes in one growing buffer, with an open-addressing table of
 * their numbers: ~20 bytes a name, where a Map of 10^6 paths held ~76 MB of strings and entries
 * (docs/BENCHMARKS.md, "A huge offer"). Exact: a hash hit is confirmed by comparing the bytes (as
 * UTF-8, so a lone surrogate reads as U+FFFD: names with one are refused before they get here).
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Names kept elsewhere as UTF-8 in one buffer, by number (a NameTable, or what holds one). */
export interface NameSource {
  /** The number of `name`, or -1. */
  idOf(name: string): number;
  /** The buffer now (it may be replaced as names are added). */
  readonly bytes: Uint8Array;
  /** Where name `id` starts in `bytes`; it ends where `id + 1` starts. */
  startOf(id: number): number;
}

export class NameTable {
  private buffer = new Uint8Array(1 << 16);
  private used = 0;
  /** Name number → where its bytes start; its end is the next one's start. */
  private starts = new Uint32Array(1 << 10);
  private hashes = new Uint32Array(1 << 10);
  private count = 0;
  /** Slots of name number + 1 (0: empty); a power of two, at most half full. */
  private slots = new Uint32Array(1 << 11);
  private scratch = new Uint8Array(1024);

  get size(): number {
    return this.count;
  }

  /** The number of `name` if it is here, else -1. */
  find(name: string): number {
    const length = this.encode(name);
    const hash = hashBytes(this.scratch, length);
    for (let slot = hash & (this.slots.length - 1); ; slot = (slot + 1) & (this.slots.length - 1)) {
      const id = this.slots[slot]! - 1;
      if (id < 0) return -1;
      if (this.hashes[id] === hash && this.equals(id, length)) return id;
    }
  }

  /** Adds `name` (not already here: call find first) and returns its number. */
  add(name: string): number {
    const length = this.encode(name);
    const hash = hashBytes(this.scratch, length);
    if ((this.count + 1) * 2 > this.slots.length) this.rehash();
    if (this.count + 1 >= this.starts.length) {
      this.starts = grow(this.starts, this.starts.length * 2);
      this.hashes = grow(this.hashes, this.hashes.length * 2);
    }
    while (this.used + length > this.buffer.length) this.buffer = grow(this.buffer, this.buffer.length * 2);
    this.buffer.set(this.scratch.subarray(0, length), this.used);
    const id = this.count++;
    this.starts[id] = this.used;
    this.used += length;
    this.starts[id + 1] = this.used;
    this.hashes[id] = hash;
    this.place(id);
    return id;
  }

  /** The names' bytes: name `id` from startOf(id) to startOf(id + 1). Replaced as the table grows. */
  get bytes(): Uint8Array {
    return this.buffer;
  }

  startOf(id: number): number {
    return this.starts[id]!;
  }

  name(id: number): string {
    return decoder.decode(this.buffer.subarray(this.starts[id], this.starts[id + 1]));
  }

  private encode(name: string): number {
    if (name.length * 3 > this.scratch.length) this.scratch = new Uint8Array(name.length * 3);
    return encoder.encodeInto(name, this.scratch).written;
  }

  private equals(id: number, length: number): boolean {
    const start = this.starts[id]!;
    if (this.starts[id + 1]! - start !== length) return false;
    for (let i = 0; i < length; i++) if (this.buffer[start + i] !== this.scratch[i]) return false;
    return true;
  }

  private place(id: number): void {
    const mask = this.slots.length - 1;
    let slot = this.hashes[id]! & mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
    this.slots[slot] = id + 1;
  }

  private rehash(): void {
    this.slots = new Uint32Array(this.slots.length * 2);
    for (let id = 0; id < this.count; id++) this.place(id);
  }
}

function grow<T extends Uint8Array | Uint32Array>(a: T, length: number): T {
  const out = new (a.constructor as new (n: number) => T)(length);
  out.set(a);
  return out;
}

/** FNV-1a over the bytes, then a final mix so that the low bits (the slot) depend on every byte. */
function hashBytes(bytes: Uint8Array, length: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
