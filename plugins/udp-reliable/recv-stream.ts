/**
 * The receiving half of the byte stream: reassembles ranges that arrive in any order, any number
 * of times, and hands the application contiguous bytes. Memory is bounded by the flow-control
 * limit the caller enforces: nothing at or beyond it is ever stored.
 */
import { handOver } from "../../src/plugin/owned-chunks.ts";

interface Segment {
  offset: number;
  data: Uint8Array;
}

/**
 * Largest buffer read() builds from pieces: big enough to amortise per-chunk costs above. Large
 * datagrams (~16 KiB on loopback) are coalesced too: one copy here costs less than the reader's
 * work per chunk (a decipher call, a hash update, a pwrite each): 1 GiB over loopback, receiver
 * 3.6-3.7 -> 2.3-2.5 CPU-s (docs/BENCHMARKS.md).
 */
const MAX_READ = 256 * 1024;
/**
 * Out-of-order pieces held at most, unless the window allows more: a peer splitting its window into
 * tiny frames is refused, while real datagrams (≥ 1200 bytes) fill any window (see forWindow).
 */
const MIN_PENDING_SEGMENTS = 65536;
/** A window's worth of pieces of at least this many bytes is legitimate. */
const MIN_PIECE_BYTES = 1024;

export class RecvStream {
  /**
   * @param maxPendingSegments out-of-order pieces held at most; forWindow() derives it from the
   * flow-control window (at 1 Gbit/s × 300 ms a 150 MB window holds 100 000 datagrams in flight).
   */
  constructor(private readonly maxPendingSegments = MIN_PENDING_SEGMENTS) {}

  static forWindow(maxWindowBytes: number): RecvStream {
    return new RecvStream(Math.max(MIN_PENDING_SEGMENTS, Math.ceil(maxWindowBytes / MIN_PIECE_BYTES)));
  }

  /** Out-of-order segments, ascending by offset, non-overlapping. */
  private readonly pending: Segment[] = [];
  private pendingTotal = 0;
  /** Contiguous bytes ready for the application. */
  private readonly ready: Uint8Array[] = [];
  private readyBytes = 0;
  /** Everything below this has been received (ready or already read). */
  received = 0;
  /** Everything below this has been handed to the application. */
  consumed = 0;
  finOffset: number | null = null;
  /** Highest offset seen in any frame (flow-control accounting). */
  highest = 0;
  /** Stream bytes that arrived again after having been received (duplicates). */
  duplicateBytes = 0;

  /** Adds a range. Throws on a FIN that contradicts an earlier one or data past the FIN. */
  push(offset: number, data: Uint8Array, fin: boolean): void {
    const end = offset + data.byteLength;
    if (fin) {
      if (this.finOffset !== null && this.finOffset !== end) throw new Error("FIN moved");
      if (end < this.highest) throw new Error("FIN below data already received");
      this.finOffset = end;
    }
    if (this.finOffset !== null && end > this.finOffset) throw new Error("data beyond FIN");
    this.highest = Math.max(this.highest, end);
    if (end <= this.received) {
      this.duplicateBytes += data.byteLength;
      return;
    }
    if (offset < this.received) {
      this.duplicateBytes += this.received - offset;
      data = data.subarray(this.received - offset);
      offset = this.received;
    }
    if (offset === this.received) {
      this.append(data);
      this.drainPending();
    } else this.insertPending(offset, data);
  }

  /** True once every byte up to the FIN was received (not necessarily read). */
  get complete(): boolean {
    return this.finOffset !== null && this.received === this.finOffset;
  }

  /** True once the application has read everything up to the FIN. */
  get ended(): boolean {
    return this.finOffset !== null && this.consumed === this.finOffset;
  }

  get readable(): boolean {
    return this.readyBytes > 0;
  }

  /** Contiguous bytes, coalesced up to MAX_READ; null when none are ready. */
  read(): Uint8Array | null {
    if (this.readyBytes === 0) return null;
    const first = this.ready[0] as Uint8Array;
    let out: Uint8Array;
    if (this.ready.length === 1 || first.byteLength >= MAX_READ) {
      out = first;
      this.ready.shift();
    } else {
      let size = 0;
      let n = 0;
      while (n < this.ready.length && size + (this.ready[n] as Uint8Array).byteLength <= MAX_READ) {
        size += (this.ready[n] as Uint8Array).byteLength;
        n++;
      }
      // Fresh and referenced nowhere else: the reader may free it once read (src/plugin/owned-chunks.ts).
      out = handOver(new Uint8Array(size));
      let at = 0;
      for (const part of this.ready.splice(0, n)) {
        out.set(part, at);
        at += part.byteLength;
      }
    }
    this.readyBytes -= out.byteLength;
    this.consumed += out.byteLength;
    return out;
  }

  /** Bytes held out of order (for stats and memory bounds). */
  get pendingBytes(): number {
    return this.pendingTotal;
  }

  private append(data: Uint8Array): void {
    if (data.byteLength === 0) return;
    this.ready.push(data);
    this.readyBytes += data.byteLength;
    this.received += data.byteLength;
  }

  private drainPending(): void {
    const p = this.pending;
    let n = 0;
    while (n < p.length) {
      const s = p[n] as Segment;
      if (s.offset > this.received) break;
      const end = s.offset + s.data.byteLength;
      // Whatever of the held piece the in-order data already covered arrived twice.
      this.duplicateBytes += Math.min(end, this.received) - s.offset;
      this.pendingTotal -= s.data.byteLength;
      if (end > this.received) this.append(s.data.subarray(this.received - s.offset));
      n++;
    }
    if (n) p.splice(0, n);
  }

  private insertPending(offset: number, data: Uint8Array): void {
    const p = this.pending;
    // Binary search for the first segment starting after offset.
    let lo = 0;
    let hi = p.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((p[mid] as Segment).offset <= offset) lo = mid + 1;
      else hi = mid;
    }
    // Trim against the previous segment, then the following ones, so segments never overlap.
    const prev = p[lo - 1];
    if (prev) {
      const prevEnd = prev.offset + prev.data.byteLength;
      if (prevEnd >= offset + data.byteLength) {
        this.duplicateBytes += data.byteLength;
        return;
      }
      if (prevEnd > offset) {
        this.duplicateBytes += prevEnd - offset;
        data = data.subarray(prevEnd - offset);
        offset = prevEnd;
      }
    }
    const i = lo;
    while (i < p.length) {
      const next = p[i] as Segment;
      const end = offset + data.byteLength;
      if (next.offset >= end) break;
      const nextEnd = next.offset + next.data.byteLength;
      if (nextEnd <= end) {
        // Fully covered by the new data: replace it.
        this.duplicateBytes += next.data.byteLength;
        this.pendingTotal -= next.data.byteLength;
        p.splice(i, 1);
        continue;
      }
      this.duplicateBytes += end - next.offset;
      data = data.subarray(0, next.offset - offset);
      break;
    }
    if (data.byteLength === 0) return;
    if (p.length >= this.maxPendingSegments) throw new Error("too many out-of-order pieces");
    // A small piece must not pin the whole datagram it came in: memory stays proportional to data.
    if (data.byteLength * 4 < data.buffer.byteLength) data = new Uint8Array(data);
    p.splice(lo, 0, { offset, data });
    this.pendingTotal += data.byteLength;
  }
}
