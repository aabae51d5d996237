/**
 * Is a round's loss congestion? Random loss on a long path goes on at its rate whatever we do, so
 * it is answered by retransmission alone; loss is congestion only when it is heavy, or above the
 * path's random loss while a queue stands (docs/PROTOCOL.md §2.7, docs/ARQ.md §2 item 2).
 */

/** Loss above this share of a round is congestion whatever the delay says. */
export const HEAVY_LOSS = 0.15;

export interface RoundLoss {
  /** Bytes declared lost this round, and delivered. */
  lostBytes: number;
  deliveredBytes: number;
  mss: number;
  /** The path's random-loss rate (a share of packets) learnt in rounds without a queue. */
  randomLoss: number;
  /** Some of the loss hit packets sent after the previous cut (those sent before could not obey it). */
  freshLoss: boolean;
  /** The round's queue stood above the threshold for loss to count with it. */
  queued: boolean;
}

/**
 * L lost of n packets is significant against the random-loss rate p when L > n·p + 3·√(n·p(1−p)) + 1
 * (a binomial test): one random loss in a round of 5 packets is 20 %, and small flows were cut
 * again and again for it while flows of 400 packets a round were not.
 */
export function significantLoss(lostPackets: number, packets: number, p: number): boolean {
  return lostPackets - packets * p > 3 * Math.sqrt(packets * p * (1 - p)) + 1;
}

export function lossIsCongestive(r: RoundLoss): boolean {
  const total = r.deliveredBytes + r.lostBytes;
  if (total <= 0 || !r.freshLoss) return false;
  const lossRate = r.lostBytes / total;
  if (!significantLoss(r.lostBytes / r.mss, total / r.mss, r.randomLoss)) return false;
  // Counting loss at the path's own rate as congestion, even with a queue, cut every flow at
  // random: multiplicative cuts and recoveries keep whatever shares the flows happen to have.
  const excess = lossRate > 2 * r.randomLoss + 0.002;
  return lossRate > HEAVY_LOSS || (excess && r.queued);
}
