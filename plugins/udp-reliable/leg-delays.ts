/**
 * The round trip's two legs timed apart, from the peer's clock in every ACK (wire version 2), so
 * that the min RTT and the queue's reference are built from samples no reordering can fake.
 *
 * A packet that skipped a delay on the way out (netem's reorder, a faster path of several) and an
 * ACK that skipped one on the way back both return a round trip far shorter than the path's; the
 * sender alone cannot tell them from a real one, and on a 300 ms path with 2 % reordering both
 * kinds of ~150 ms samples corroborated one another (docs/BENCHMARKS.md). Each ACK frame names the
 * packet the peer received last and when, and when the frame itself was written, on the peer's
 * clock: `forward = received − sent` and `return = arrived − written` each carry the unknown offset
 * between the clocks, with opposite signs, so their sum is a round trip whatever the offset.
 *
 * Each leg is read in slots of SLOT_SAMPLES consecutive samples, as the lowest sample within a
 * tolerance (an eighth of the loss delay, ~srtt/7) below the slot's median, never their minimum: a
 * skipped delay shortens one leg of one sample, so a slot reads low only if half its samples skipped
 * one, or by less than the tolerance. (Its 8th lowest sample, robust too, read the queue a quarter of
 * the way up: five flows sharing 1 Gbit/s × 150 ms reached Jain 0.84 with it, 0.97 without, on
 * one seed.) One sample per
 * packet forward (the peer's latest arrival, a fill-in or not; one per reordered packet, however
 * early) and one per ACK frame back, so reordered ones are counted at their own rate. Counting the
 * largest acknowledged packet instead, every sample for the 150 ms after a reordered packet would
 * be another reordered one: it stays the largest until the packets sent after it catch up.
 */

/** Consecutive samples of one leg read together. */
export const SLOT_SAMPLES = 32;
/** A slot reads the lowest sample within the loss delay over this below its median. */
export const TOLERANCE_OF_HOLD = 1 / 8;
/** Samples waiting for their neighbours, per leg, at most (then the oldest are read at once). */
const MAX_PENDING = 1 << 16;

/**
 * One leg's samples, read in the order they were sent, not the order they arrived: a packet that
 * skipped 150 ms arrives among packets sent 150 ms before it, and when those are few (STARTUP sends
 * a window and waits) slots of arrivals were mostly reordered ones (measured: 16 of 29 ACK frames
 * in 250 ms). So a sample waits until everything sent before it had time to arrive (`horizon`).
 */
class Leg {
  /** Ascending by key; [head, length) are waiting. */
  private readonly pending: { key: number; value: number }[] = [];
  private head = 0;
  private readonly slot: number[] = [];
  private tolerance = 0;
  /** The last full slot's reading (undefined: none yet). */
  value: number | undefined;

  /** A sample, keyed by when it was sent on the sending side's clock. */
  add(key: number, value: number): void {
    const q = this.pending;
    // Nearly always an append: only a sample that overtook others is inserted before them.
    let i = q.length;
    while (i > this.head && (q[i - 1] as { key: number }).key > key) i--;
    q.splice(i, 0, { key, value });
  }

  /**
   * Reads the samples keyed at or before `horizon`, in key order, slots with `tolerance`; true when
   * a slot completed.
   */
  flush(horizon: number, tolerance: number): boolean {
    this.tolerance = tolerance;
    const q = this.pending;
    let completed = false;
    while (this.head < q.length) {
      const s = q[this.head] as { key: number; value: number };
      if (s.key > horizon && q.length - this.head <= MAX_PENDING) break;
      this.head++;
      completed = this.read(s.value) || completed;
    }
    if (this.head > 1024 && this.head * 2 > q.length) {
      q.splice(0, this.head);
      this.head = 0;
    }
    return completed;
  }

  private read(sample: number): boolean {
    this.slot.push(sample);
    if (this.slot.length < SLOT_SAMPLES) return false;
    this.slot.sort((a, b) => a - b);
    const floor = (this.slot[SLOT_SAMPLES >> 1] as number) - this.tolerance;
    this.value = this.slot.find((v) => v >= floor) as number;
    this.slot.length = 0;
    return true;
  }
}

export class LegDelays {
  private readonly forward = new Leg();
  private readonly back = new Leg();
  private lastForwardPn = -1;
  private latestWritten = Number.NEGATIVE_INFINITY;

  /**
   * One ACK frame: written at `peerWrittenAt` (ms, peer's clock), arrived at `now`; the peer's
   * latest arrival was packet `latestPn`, received at `peerReceivedAt`, which we sent at `sentAt`
   * (undefined: unknown). `hold`: how long a sample waits for those sent before it, from its
   * send time (the loss delay, ~9/8 srtt: what was sent before it has arrived by then, or is lost);
   * an eighth of it is the slots' tolerance.
   * Returns a round trip (ms) when a slot completed.
   */
  onFrame(
    peerWrittenAt: number,
    now: number,
    latestPn: number,
    peerReceivedAt: number,
    sentAt: number | undefined,
    hold: number,
  ): number | undefined {
    this.back.add(peerWrittenAt, now - peerWrittenAt);
    this.latestWritten = Math.max(this.latestWritten, peerWrittenAt);
    // A frame that names the same latest packet again (nothing arrived between two ACKs, or a
    // duplicated ACK) says nothing new of the forward leg.
    if (sentAt !== undefined && latestPn !== this.lastForwardPn) {
      this.lastForwardPn = latestPn;
      this.forward.add(sentAt, peerReceivedAt - sentAt);
    }
    const tolerance = hold * TOLERANCE_OF_HOLD;
    const forwardRead = this.forward.flush(now - hold, tolerance);
    const fresh = this.back.flush(this.latestWritten - hold, tolerance) || forwardRead;
    const f = this.forward.value;
    const b = this.back.value;
    return fresh && f !== undefined && b !== undefined ? Math.max(0, f + b) : undefined;
  }

  /**
   * When a frame written at `peerWrittenAt` would have arrived over the return leg as the last slot
   * read it (undefined: no reading yet): a delivery clock on which an ACK that skipped a delay on
   * its way back is not early.
   */
  unhurriedArrival(peerWrittenAt: number): number | undefined {
    const b = this.back.value;
    return b === undefined ? undefined : peerWrittenAt + b;
  }
}
