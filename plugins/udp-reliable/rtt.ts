/**
 * RTT estimation after RFC 9002 §5 (RFC 6298's EWMA, with the peer's ACK delay subtracted). Karn's
 * rule holds by construction: packet numbers are never reused, so every sample is unambiguous.
 * The minimum is fed separately (observeMin): on a reordering path not every sample can be the
 * propagation delay (see min-rtt-filter.ts), while all of them belong in the smoothed RTT.
 */

/** Assumed RTT before the first sample (ms). */
export const INITIAL_RTT_MS = 333;
/** Timer granularity (ms): no PTO or loss timer is shorter than this. */
export const GRANULARITY_MS = 1;

export class RttEstimator {
  smoothed = INITIAL_RTT_MS;
  variance = INITIAL_RTT_MS / 2;
  latest = 0;
  /** Lowest sample over the connection's life that could be propagation delay (ms). */
  min = Number.POSITIVE_INFINITY;
  hasSample = false;
  private provisional = false;

  /**
   * @param sample ms from sending the largest newly acknowledged packet to receiving its ACK
   * @param ackDelay how long the peer held the ACK back (ms), already clamped to its max_ack_delay
   */
  update(sample: number, ackDelay: number): void {
    // Below the fastest round trip known not to have overtaken anything: a reordered packet or
    // ACK skipped part of the path, and the sample says nothing of the others' round trip (taken,
    // it pulls srtt and with it the loss delay down, and sound packets look lost).
    if (!(sample >= 0) || (Number.isFinite(this.min) && sample < this.min)) return;
    this.latest = sample;
    if (!this.hasSample) {
      this.hasSample = true;
      this.smoothed = sample;
      this.variance = sample / 2;
      return;
    }
    // Subtract the peer's delay only when it cannot push the sample below the path's minimum.
    const adjusted = sample >= this.min + ackDelay ? sample - ackDelay : sample;
    this.variance = 0.75 * this.variance + 0.25 * Math.abs(this.smoothed - adjusted);
    this.smoothed = 0.875 * this.smoothed + 0.125 * adjusted;
  }

  /** A sample known not to have overtaken older packets (see min-rtt-filter.ts). */
  observeMin(sample: number): void {
    if (!(sample >= 0)) return;
    this.min = this.provisional ? sample : Math.min(this.min, sample);
    this.provisional = false;
  }

  /**
   * The handshake's round trip: one sample, and a SYN or SYN-ACK that skipped a delay is no rarer
   * than a data packet that did. It stands as the minimum until the first confirmed sample
   * replaces it, lower or not.
   */
  observeHandshake(sample: number): void {
    if (!(sample >= 0) || Number.isFinite(this.min)) return;
    this.min = sample;
    this.provisional = true;
  }

  /** Probe timeout before backoff: srtt + max(4·rttvar, granularity) + the peer's max ACK delay. */
  pto(maxAckDelay: number): number {
    return this.smoothed + Math.max(4 * this.variance, GRANULARITY_MS) + maxAckDelay;
  }

  /** RFC 9002 §6.1.2: a packet is lost once it is this much older than a later acknowledged one. */
  lossDelay(reorderEighths = 1): number {
    return Math.max(((8 + reorderEighths) / 8) * Math.max(this.smoothed, this.latest), GRANULARITY_MS);
  }

  /** After a blackout the old variance no longer describes the path: restart from the next sample. */
  reset(): void {
    this.hasSample = false;
  }
}
