/**
 * The bytes of a stream from the lowest unacknowledged offset to the last written one, in one
 * circular buffer. One buffer reused for the whole transfer, so the sender's memory follows the
 * send window, not the write rate: a fresh copy per write is freed only when the GC gets to it,
 * and Bun gets to ArrayBuffers late (docs/BENCHMARKS.md, "udp-reliable sender memory").
 *
 * The buffer grows when a write would not fit and never shrinks: its size is at most
 * GROWTH × the most bytes ever held at once, rounded up to GRANULE.
 */
const GRANULE = 64 * 1024;
/** Headroom taken on growth so a window creeping up by a write at a time copies rarely. */
const GROWTH = 1.25;

export class SendRing {
  private buf: Uint8Array;
  /** Stream offset of the first byte held. */
  private start = 0;
  /** Stream offset one past the last byte held. */
  private end = 0;

  constructor(initialBytes = 0) {
    this.buf = new Uint8Array(roundUp(initialBytes));
  }

  get capacity(): number {
    return this.buf.byteLength;
  }

  /** Appends at the end offset, copying: the caller may reuse data at once. */
  append(data: Uint8Array): void {
    const held = this.end - this.start;
    if (held + data.byteLength > this.buf.byteLength) this.grow(held + data.byteLength);
    this.put(this.end, data);
    this.end += data.byteLength;
  }

  /** Copies [offset, offset+length) into dest; the range must be held. */
  read(offset: number, length: number, dest: Uint8Array): void {
    if (offset < this.start || offset + length > this.end) {
      throw new RangeError(`bytes ${offset}..${offset + length} are not held (${this.start}..${this.end})`);
    }
    const cap = this.buf.byteLength;
    const at = offset % cap;
    const first = Math.min(length, cap - at);
    dest.set(this.buf.subarray(at, at + first), 0);
    if (first < length) dest.set(this.buf.subarray(0, length - first), first);
  }

  /** Forgets every byte below floor, making room for more writes. */
  release(floor: number): void {
    this.start = Math.min(Math.max(this.start, floor), this.end);
  }

  private put(offset: number, data: Uint8Array): void {
    const cap = this.buf.byteLength;
    const at = offset % cap;
    const first = Math.min(data.byteLength, cap - at);
    this.buf.set(data.subarray(0, first), at);
    if (first < data.byteLength) this.buf.set(data.subarray(first), 0);
  }

  private grow(needed: number): void {
    const old = this.buf;
    const at = this.start % old.byteLength;
    const held = this.end - this.start;
    const first = Math.min(held, old.byteLength - at);
    this.buf = new Uint8Array(roundUp(Math.ceil(needed * GROWTH)));
    // Offsets map to offset % capacity, so the held bytes move to their new positions.
    this.put(this.start, old.subarray(at, at + first));
    if (first < held) this.put(this.start + first, old.subarray(0, held - first));
  }
}

function roundUp(n: number): number {
  return Math.max(GRANULE, Math.ceil(n / GRANULE) * GRANULE);
}
