/**
 * The bytes of a stream from the lowest unacknowledged offset to the last written one, in fixed
 * segments reused for the whole transfer. A fresh copy per write is freed only when the GC gets to
 * it, and Bun gets to ArrayBuffers late, so memory followed the write rate; and one buffer grown by
 * copying leaves every smaller predecessor behind as garbage of the same kind. Segments are never
 * copied: one whose bytes are all released goes to a free list for the next write.
 *
 * Memory: segments for the most bytes ever held at once, plus one since the held bytes seldom start
 * on a segment boundary: at most (⌈peak held / segment⌉ + 1) × segment bytes (docs/PROTOCOL.md §2.6 gives peak held).
 */
export const SEGMENT_BYTES = 1 << 20;

export class SendRing {
  /** segments[i] holds the stream bytes from (first + i) × segmentBytes on. */
  private readonly segments: Uint8Array[] = [];
  private first = 0;
  private readonly spare: Uint8Array[] = [];
  /** Stream offset of the first byte held. */
  private start = 0;
  /** Stream offset one past the last byte held. */
  private end = 0;

  constructor(private readonly segmentBytes = SEGMENT_BYTES) {}

  /** Bytes of memory allocated, held or spare. */
  get capacity(): number {
    return (this.segments.length + this.spare.length) * this.segmentBytes;
  }

  /** Appends at the end offset, copying: the caller may reuse data at once. */
  append(data: Uint8Array): void {
    const size = this.segmentBytes;
    let from = 0;
    while (from < data.byteLength) {
      const index = Math.floor(this.end / size);
      const at = this.end - index * size;
      if (index - this.first === this.segments.length) this.segments.push(this.spare.pop() ?? new Uint8Array(size));
      const n = Math.min(size - at, data.byteLength - from);
      (this.segments[index - this.first] as Uint8Array).set(data.subarray(from, from + n), at);
      from += n;
      this.end += n;
    }
  }

  /** Copies [offset, offset+length) into dest; the range must be held. */
  read(offset: number, length: number, dest: Uint8Array): void {
    if (offset < this.start || offset + length > this.end) {
      throw new RangeError(`bytes ${offset}..${offset + length} are not held (${this.start}..${this.end})`);
    }
    const size = this.segmentBytes;
    let out = 0;
    while (out < length) {
      const index = Math.floor((offset + out) / size);
      const at = offset + out - index * size;
      const n = Math.min(size - at, length - out);
      dest.set((this.segments[index - this.first] as Uint8Array).subarray(at, at + n), out);
      out += n;
    }
  }

  /** Forgets every byte below floor; segments left empty wait for the next writes. */
  release(floor: number): void {
    this.start = Math.min(Math.max(this.start, floor), this.end);
    const size = this.segmentBytes;
    // A segment the end offset points into stays: the next write continues in it.
    while (this.segments.length > 0 && (this.first + 1) * size <= this.start && (this.first + 1) * size <= this.end) {
      this.spare.push(this.segments.shift() as Uint8Array);
      this.first++;
    }
  }
}
