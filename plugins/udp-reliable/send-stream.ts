/**
 * The sending half of the byte stream: bytes the application wrote, kept until acknowledged, and
 * the queue of ranges to send again after a loss. Ranges, not packets, are retransmitted, so a
 * range acknowledged through any copy is never resent.
 */
import { RangeSet } from "./range-set.ts";

export interface StreamRange {
  offset: number;
  length: number;
  fin: boolean;
  retransmission: boolean;
}

interface Chunk {
  offset: number;
  data: Uint8Array;
}

export class SendStream {
  private readonly chunks: Chunk[] = [];
  private chunkHead = 0;
  /** Bytes accepted from the application. */
  written = 0;
  /** First offset never sent. */
  nextNew = 0;
  finOffset: number | null = null;
  private finSent = false;
  private finLost = false;
  finAcked = false;
  private readonly acked = new RangeSet();
  /** Every byte below this is acknowledged and freed. */
  ackedFloor = 0;
  private readonly lost: { start: number; end: number }[] = [];
  /** Bytes sent more than once, for stats. */
  retransmittedBytes = 0;

  /** Bytes held (sent or not) awaiting acknowledgement. */
  get buffered(): number {
    return this.written - this.ackedFloor;
  }

  /**
   * Takes a copy: the caller reuses its buffer (see StreamConnection.write). `new Uint8Array(data)`,
   * not `data.slice()`: a Node Buffer's slice() is a view, and a view of a buffer the caller (or the
   * runtime, for a cipher's tag) reuses would resend other bytes.
   */
  write(data: Uint8Array): void {
    if (this.finOffset !== null) throw new Error("write after end()");
    if (data.byteLength === 0) return;
    this.chunks.push({ offset: this.written, data: new Uint8Array(data) });
    this.written += data.byteLength;
  }

  finish(): void {
    if (this.finOffset === null) this.finOffset = this.written;
  }

  get allAcked(): boolean {
    return this.finAcked && this.ackedFloor === this.written;
  }

  /** Is there anything to send, given the peer's flow-control limit? */
  hasPending(flowLimit: number): boolean {
    return this.lost.length > 0 || this.finLost || this.hasNew(flowLimit);
  }

  /** True when new data exists but only the peer's flow-control limit holds it back. */
  flowBlocked(flowLimit: number): boolean {
    return this.nextNew < this.written && this.nextNew >= flowLimit;
  }

  private hasNew(flowLimit: number): boolean {
    if (this.nextNew < Math.min(this.written, flowLimit)) return true;
    return this.finOffset !== null && !this.finSent && this.nextNew === this.finOffset;
  }

  /** The next range to put in a packet (lost ranges first), at most maxLength bytes. */
  nextRange(maxLength: number, flowLimit: number): StreamRange | null {
    while (this.lost.length) {
      const head = this.lost[0] as { start: number; end: number };
      const start = Math.max(head.start, this.ackedFloor);
      const gap = start < head.end ? this.acked.missing(start, head.end)[0] : undefined;
      if (!gap) {
        this.lost.shift();
        continue;
      }
      const length = Math.min(maxLength, gap.end - gap.start);
      head.start = gap.start + length;
      if (head.start >= head.end) this.lost.shift();
      this.retransmittedBytes += length;
      const fin = this.finOffset === gap.start + length && this.finLost;
      if (fin) this.finLost = false;
      return { offset: gap.start, length, fin, retransmission: true };
    }
    if (this.finLost) {
      this.finLost = false;
      return { offset: this.finOffset as number, length: 0, fin: true, retransmission: true };
    }
    const limit = Math.min(this.written, flowLimit);
    if (this.nextNew < limit || (this.finOffset === this.nextNew && !this.finSent)) {
      const offset = this.nextNew;
      const length = Math.min(maxLength, limit - offset);
      this.nextNew += length;
      const fin = this.finOffset === this.nextNew;
      if (fin) this.finSent = true;
      return { offset, length, fin, retransmission: false };
    }
    return null;
  }

  /** Copies [offset, offset+length) into dest. The range must still be buffered. */
  copy(offset: number, length: number, dest: Uint8Array): void {
    let i = this.findChunk(offset);
    let at = offset;
    let out = 0;
    while (out < length) {
      const c = this.chunks[i++] as Chunk;
      const from = at - c.offset;
      const n = Math.min(c.data.byteLength - from, length - out);
      dest.set(c.data.subarray(from, from + n), out);
      out += n;
      at += n;
    }
  }

  onAcked(offset: number, length: number, fin: boolean): void {
    if (fin) this.finAcked = true;
    if (offset + length <= this.ackedFloor) return;
    this.acked.add(offset, offset + length);
    const first = this.acked.ranges[0];
    if (first && first.start <= this.ackedFloor && first.end > this.ackedFloor) {
      this.ackedFloor = first.end;
      this.acked.trimBelow(this.ackedFloor);
      this.freeBelow(this.ackedFloor);
    }
  }

  onLost(offset: number, length: number, fin: boolean): void {
    if (fin && !this.finAcked) this.finLost = true;
    if (length > 0 && offset + length > this.ackedFloor) this.lost.push({ start: offset, end: offset + length });
  }

  private freeBelow(floor: number): void {
    const cs = this.chunks;
    while (this.chunkHead < cs.length) {
      const c = cs[this.chunkHead] as Chunk;
      if (c.offset + c.data.byteLength > floor) break;
      cs[this.chunkHead++] = undefined as unknown as Chunk;
    }
    // Compact now and then so the array does not grow without bound.
    if (this.chunkHead > 1024 && this.chunkHead * 2 > cs.length) {
      cs.splice(0, this.chunkHead);
      this.chunkHead = 0;
    }
  }

  private findChunk(offset: number): number {
    let lo = this.chunkHead;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.chunks[mid] as Chunk).offset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
