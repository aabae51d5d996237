/**
 * Smooth pacing for a transport with no congestion control: a token bucket refilled from the clock,
 * carrying over at most 8 ms of credit. Sleeping 1 ms between fixed bursts was measured here to raise
 * loss; sending whatever accrued on each wake-up keeps the rate even.
 */
// Late timers must not lose credit (that would undershoot the rate), yet a late wake-up may burst at most this much.
const BURST_MS = 8;

export class SmoothPacer {
  private tokens = 0;
  private last = performance.now();

  constructor(private readonly bytesPerSecond: number) {}

  /** Waits until `bytes` may leave. */
  async take(bytes: number): Promise<void> {
    for (;;) {
      const now = performance.now();
      const cap = Math.max((this.bytesPerSecond * BURST_MS) / 1000, bytes);
      this.tokens = Math.min(cap, this.tokens + ((now - this.last) * this.bytesPerSecond) / 1000);
      this.last = now;
      if (this.tokens >= bytes) {
        this.tokens -= bytes;
        return;
      }
      const waitMs = ((bytes - this.tokens) * 1000) / this.bytesPerSecond;
      await new Promise((r) => setTimeout(r, Math.max(1, waitMs)));
    }
  }
}
