/**
 * The sending half of the byte stream: bytes the application wrote, kept until acknowledged, and
 * the queue of ranges to send again after a loss. Ranges, not packets, are retransmitted, so a
 * range acknowledged through any copy is never resent.
 */
import { RangeSet } from "./range-set.ts";
import { SendRing } from "./send-ring.ts";

export interface StreamRange {
  offset: number;
  length: number;
  fin: boolean;
  retransmission: boolean;
}

export class SendStream {
  private readonly ring: SendRing;
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

  /** segmentBytes: the ring's unit of memory (see send-ring.ts); tests make it small. */
  constructor(segmentBytes?: number) {
    this.ring = new SendRing(segmentBytes);
  }

  /** Bytes of memory holding the buffered bytes: the send window's cost, not the write rate's. */
  get capacity(): number {
    return this.ring.capacity;
  }

  /** Bytes held (sent or not) awaiting acknowledgement. */
  get buffered(): number {
    return this.written - this.ackedFloor;
  }

  /** Takes a copy into the ring: the caller reuses its buffer (see StreamConnection.write). */
  write(data: Uint8Array): void {
    if (this.finOffset !== null) throw new Error("write after end()");
    if (data.byteLength === 0) return;
    this.ring.append(data);
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
    this.ring.read(offset, length, dest);
  }

  onAcked(offset: number, length: number, fin: boolean): void {
    if (fin) this.finAcked = true;
    if (offset + length <= this.ackedFloor) return;
    this.acked.add(offset, offset + length);
    const first = this.acked.ranges[0];
    if (first && first.start <= this.ackedFloor && first.end > this.ackedFloor) {
      this.ackedFloor = first.end;
      this.acked.trimBelow(this.ackedFloor);
      this.ring.release(this.ackedFloor);
    }
  }

  onLost(offset: number, length: number, fin: boolean): void {
    if (fin && !this.finAcked) this.finLost = true;
    if (length > 0 && offset + length > this.ackedFloor) this.lost.push({ start: offset, end: offset + length });
  }
}
