/**
 * Which RTT samples may be read as the path's propagation delay (plus its standing queue) on a
 * path that reorders. A packet that skipped a delay (netem's reorder, a faster path of several)
 * comes back sooner than a FIFO path allows, and taken as min RTT it makes every later sample look
 * like a standing queue: BBR then reads congestion into random loss and cuts its rate to nothing.
 *
 * Each new lowest sample becomes a candidate. A candidate is discredited when something older
 * arrives after it with a much longer round trip (REORDER_TOLERANCE: jitter reorders by a little
 * and is tolerated; a skipped delay is not) — an older packet (it overtook that packet) or an ACK
 * frame reporting a smaller largest (its ACK overtook that ACK, on the way back). It is confirmed
 * once its window (a round trip of its own) is over, it has stood a hold (the loss delay: what it
 * overtook arrives within the delay it skipped, less than a round trip) unchallenged, another
 * sample came near it, no lower than it, within that time (a lone fast ACK with no older one
 * behind it to give it away is no evidence), and every packet sent before it is settled. Candidates are kept side by side, so a
 * reordered sample that arrives while a sound one waits does not push the sound one out.
 */

/** Something older arriving after a sample discredits it if its round trip is longer by this share. */
export const REORDER_TOLERANCE = 1 / 4;
const MAX_CANDIDATES = 8;

interface Candidate {
  rtt: number;
  pn: number;
  /** The largest PN its ACK frame reported. */
  frameLargest: number;
  since: number;
  corroborated: boolean;
}

export class MinRttFilter {
  /** Ascending by rtt: each was the lowest when it came. */
  private candidates: Candidate[] = [];
  private windowStart = 0;

  /** An ACK frame reporting `largest`, which this ACK times at `largestRtt` (Infinity: unknown). */
  onFrame(largest: number, largestRtt: number): void {
    this.challenge((c) => largest < c.frameLargest, largestRtt);
  }

  /** Packet `pn` was acknowledged only now, after `rtt`. */
  onArrived(pn: number, rtt: number): void {
    this.challenge((c) => pn < c.pn, rtt);
  }

  /** A sample: packet `pn`'s round trip, from an ACK frame reporting up to `frameLargest`. */
  onSample(rtt: number, pn: number, frameLargest: number, now: number): void {
    let near = false;
    for (const c of this.candidates) {
      if (isNear(c.rtt, rtt)) c.corroborated = true;
      if (isNear(rtt, c.rtt)) near = true;
    }
    const lowest = this.candidates[0];
    if (lowest && rtt >= lowest.rtt) return;
    if (!lowest) this.windowStart = now;
    this.candidates.unshift({ rtt, pn, frameLargest, since: now, corroborated: near });
    if (this.candidates.length > MAX_CANDIDATES) this.candidates.pop();
  }

  /**
   * The lowest candidate confirmed now (undefined: none), given the oldest packet still
   * outstanding and how long a candidate must stand unchallenged.
   */
  settle(now: number, oldestOutstanding: number, hold: number): number | undefined {
    // Alone for a whole window and hold: what would have discredited it may have been forgotten
    // (packets declared lost are not remembered for ever), so it proves nothing.
    this.candidates = this.candidates.filter((c) => c.corroborated || now < c.since + c.rtt + hold);
    for (const [i, c] of this.candidates.entries()) {
      if (!c.corroborated || now < this.windowStart + c.rtt || now < c.since + hold) continue;
      if (oldestOutstanding < c.pn) continue;
      // Lower ones still waiting start the next window; higher ones are moot.
      this.candidates.length = i;
      this.windowStart = now;
      return c.rtt;
    }
    return undefined;
  }

  private challenge(older: (c: Candidate) => boolean, rtt: number): void {
    this.candidates = this.candidates.filter((c) => !(older(c) && rtt > c.rtt * (1 + REORDER_TOLERANCE)));
  }
}

function isNear(low: number, high: number): boolean {
  return high >= low && high <= low * (1 + REORDER_TOLERANCE);
}
