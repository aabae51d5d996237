/**
 * BBR's ceiling on its bandwidth estimate after congestion: cut by a factor on a congestive round,
 * won back by equal absolute steps (AIMD: Chiu and Jain's argument for convergence), undone when the
 * loss it answered proves spurious. Rules and figures: docs/PROTOCOL.md §2.7, docs/ARQ.md §2 items 3a–3b.
 */

/** The bound recovers by at most this share a round. */
const RECOVERY_MAX = 0.05;
/** The step doubles each round; past this many datagrams the 5 % cap always rules anyway. */
const MAX_STEP = 2 ** 40;

export class RateBound {
  /** Bytes per second; Infinity: no bound. */
  value = Number.POSITIVE_INFINITY;
  cuts = 0;
  undone = 0;
  /** Datagrams per min RTT the bound grows by next (doubles each round, 1 after a cut). */
  private step = 1;
  /** The last loss cut, until spurious losses show its round's loss was reordering (then it is undone). */
  private lastCut: { priorLimit: number; lostBytes: number; spuriousBytes: number } | null = null;

  /**
   * Cut to `factor` × min(bound, measured), never below `floor`. `lostBytes` is the loss a loss cut
   * answered (null for a cut on delay alone, which cannot prove spurious).
   */
  cut(measured: number, factor: number, floor: number, lostBytes: number | null): void {
    this.cuts++;
    this.lastCut = lostBytes === null ? null : { priorLimit: this.value, lostBytes, spuriousBytes: 0 };
    this.value = Math.max(Math.min(this.value, measured) * factor, floor);
    this.step = 1;
  }

  /**
   * A round that was not congestive: grow by the step, the same absolute rate for every flow, so
   * flows cut together win back the same rate and the larger one's share shrinks. Never more than
   * 5 % a round: on a short path a datagram per min RTT is a lot (16 KB per 0.5 ms on
   * loopback), doubling steps undid each cut within a few rounds, and the overshoot raised
   * retransmission at 5 % loss from 11 % to 31 %. The bound is lifted once it is twice what the
   * flow measures: it no longer binds.
   */
  recover(mss: number, minRttMs: number, measured: number): void {
    if (Number.isFinite(this.value) && Number.isFinite(minRttMs)) {
      const unit = (mss * 1000) / Math.max(minRttMs, 1);
      this.value += Math.min(this.step * unit, this.value * RECOVERY_MAX);
      this.step = Math.min(this.step * 2, MAX_STEP);
    }
    if (this.value > measured * 2) this.value = Number.POSITIVE_INFINITY;
  }

  /** Lost and delivered after all: once half the loss the last cut answered is, the cut is undone. */
  onSpurious(bytes: number): void {
    const cut = this.lastCut;
    if (!cut) return;
    cut.spuriousBytes += bytes;
    if (cut.spuriousBytes * 2 >= cut.lostBytes) {
      this.value = Math.max(this.value, cut.priorLimit);
      this.lastCut = null;
      this.undone++;
    }
  }
}
