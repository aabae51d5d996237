/**
 * The receiver's record of packet numbers seen, and when an ACK is due (RFC 9000 §13.2 in spirit):
 * after every second ack-eliciting packet while the connection is young, then after every tenth
 * (ACK decimation, as Chromium's QUIC does: at 1 Gbit/s an ACK per two packets is 40 000 ACKs a
 * second to build, send and parse, for feedback the sender cannot use any faster), at once when a
 * packet arrives out of order, and never later than the max ACK delay. Ranges are kept newest first
 * and capped: the oldest holes were long declared lost by the sender, so forgetting them costs at
 * most a spurious retransmission.
 */
import type { AckStamp, PnRange } from "./wire/frames.ts";

export const MAX_TRACKED_RANGES = 256;
/** How long an ACK may be held back (ms). Advertised implicitly: the sender adds it to its PTO. */
export const MAX_ACK_DELAY_MS = 5;
/** Ack-eliciting packets per ACK: 2 for the first DECIMATE_AFTER packets (fast start-up feedback), then 10. */
const ACK_ELICITING_THRESHOLD = 2;
const DECIMATED_THRESHOLD = 10;
const DECIMATE_AFTER = 100;
/**
 * Ranges one ACK frame reports (newest first). Each stays in the frame until 32 newer holes push it
 * out, i.e. in dozens of consecutive ACKs even at 20 % loss (hundreds at 1 %), so one reaches the sender;
 * older holes are permanent (retransmissions travel in new packet numbers) and already handled.
 */
export const MAX_ACK_FRAME_RANGES = 32;
/** Of those, how many are taken around the latest arrival when it lies below the newest (ackRanges). */
const AROUND_LATEST = 8;

export class ReceivedPackets {
  /** Descending, disjoint, non-adjacent. */
  readonly ranges: PnRange[] = [];
  private unacked = 0;
  private elicitingSeen = 0;
  private immediate = false;
  private largestAt = 0;
  /** Earliest time the pending ACK must go out (Infinity: nothing pending). */
  ackDeadline = Number.POSITIVE_INFINITY;
  /** Set when an ack-eliciting packet arrived since the last ACK. */
  private pending = false;
  /** The ack-eliciting packet that arrived last, and when: the sender times the forward leg by it. */
  private latestPn = 0;
  private latestAt = 0;

  /** `epoch`: the connection's start on this side's clock; ACK stamps count from it. */
  constructor(private readonly epoch = 0) {}

  /** Records an ack-eliciting packet; returns false if it is a duplicate (the caller drops it). */
  record(pn: number, now: number): boolean {
    const first = this.ranges[0];
    let outOfOrder = false;
    if (!first || pn > first.high) {
      if (first && pn === first.high + 1) first.high = pn;
      else {
        outOfOrder = first !== undefined;
        this.ranges.unshift({ low: pn, high: pn });
        if (this.ranges.length > MAX_TRACKED_RANGES) this.ranges.pop();
      }
      this.largestAt = now;
    } else {
      if (!this.insertOld(pn)) return false;
      outOfOrder = true;
    }
    this.latestPn = pn;
    this.latestAt = now;
    this.pending = true;
    this.unacked++;
    this.elicitingSeen++;
    const threshold = this.elicitingSeen > DECIMATE_AFTER ? DECIMATED_THRESHOLD : ACK_ELICITING_THRESHOLD;
    if (outOfOrder || this.unacked >= threshold) this.immediate = true;
    this.ackDeadline = Math.min(this.ackDeadline, this.immediate ? now : now + MAX_ACK_DELAY_MS);
    return true;
  }

  /** True when an ACK should be sent now. */
  ackDue(now: number): boolean {
    return this.pending && (this.immediate || now >= this.ackDeadline);
  }

  /** An ACK for everything recorded has been sent; `delayUs` is for the frame. */
  onAckSent(): void {
    this.pending = false;
    this.immediate = false;
    this.unacked = 0;
    this.ackDeadline = Number.POSITIVE_INFINITY;
  }

  /** µs the largest packet has waited for this ACK. */
  ackDelayUs(now: number): number {
    return Math.max(0, (now - this.largestAt) * 1000);
  }

  /**
   * The ranges an ACK reports: the newest MAX_ACK_FRAME_RANGES, unless the packet that arrived last
   * lies below them; then the newest ones less AROUND_LATEST, and AROUND_LATEST around it. A packet
   * that skipped 150 ms lands far above the in-order front, and the holes random loss leaves
   * between them (5 % loss: ~60) pushed the packets it overtook out of every ACK as they arrived:
   * never acknowledged, they were declared lost and sent again, and proven spurious never (2.2 %
   * of all packets at 2 % reordering, and whole rounds read as 20–50 % loss).
   */
  ackRanges(): readonly PnRange[] {
    const rs = this.ranges;
    const cut = rs[MAX_ACK_FRAME_RANGES - 1];
    if (!cut || this.latestPn >= cut.low) return rs;
    let at = MAX_ACK_FRAME_RANGES;
    while (at < rs.length && (rs[at] as PnRange).low > this.latestPn) at++;
    const from = Math.max(
      MAX_ACK_FRAME_RANGES - AROUND_LATEST,
      Math.min(at - AROUND_LATEST / 2, rs.length - AROUND_LATEST),
    );
    return [...rs.slice(0, MAX_ACK_FRAME_RANGES - AROUND_LATEST), ...rs.slice(from, from + AROUND_LATEST)];
  }

  /** This side's clock for an ACK written now (docs/PROTOCOL.md §2.3). */
  ackStamp(now: number): AckStamp {
    return {
      timeUs: Math.max(0, (now - this.epoch) * 1000),
      latestPn: this.latestPn,
      latestAgeUs: Math.max(0, (now - this.latestAt) * 1000),
    };
  }

  get hasRanges(): boolean {
    return this.ranges.length > 0;
  }

  private insertOld(pn: number): boolean {
    const rs = this.ranges;
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i] as PnRange;
      if (pn > r.high) {
        // pn falls in the gap above r (below rs[i-1]).
        const above = rs[i - 1] as PnRange;
        if (pn === r.high + 1 && pn === above.low - 1) {
          above.low = r.low;
          rs.splice(i, 1);
        } else if (pn === r.high + 1) r.high = pn;
        else if (pn === above.low - 1) above.low = pn;
        else rs.splice(i, 0, { low: pn, high: pn });
        if (rs.length > MAX_TRACKED_RANGES) rs.pop();
        return true;
      }
      if (pn >= r.low) return false;
    }
    // Older than everything tracked: either forgotten or never seen; extend the last range if adjacent.
    const last = rs[rs.length - 1] as PnRange;
    if (pn === last.low - 1) last.low = pn;
    else if (rs.length < MAX_TRACKED_RANGES) rs.push({ low: pn, high: pn });
    return true;
  }
}
