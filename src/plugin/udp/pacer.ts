/**
 * Token-bucket pacing for datagram transports, one for the built-ins and for outside authors.
 *
 * JS timers fire about once a millisecond at best, so smooth pacing means: on every wake-up, send
 * what accrued since the last one, in one batch. A fixed small burst per timer tick caps the rate
 * at (burst / timer period), and sleeping between fixed bursts was measured here to raise loss.
 * The bucket holds at most `burstMs` of rate (never less than `minBurstPackets` datagrams), so a
 * late timer keeps its credit but cannot release more than that at once. docs/ARQ.md §3 has the
 * sources (quic-go's pacer, RFC 9002 §7.7).
 */

export interface PacerShape {
  /** The most credit the bucket keeps, in milliseconds of the current rate. */
  burstMs: number;
  /** ...but never less than this many datagrams, so a slow rate still sends whole batches. */
  minBurstPackets: number;
}

/** Pure: the caller passes the time (ms) and the rate (bytes/s) at each call. */
export class Pacer {
  private tokens: number;
  private last: number;

  constructor(
    /** Datagram size in bytes; a transport raises it when a larger path MTU is confirmed. */
    public mss: number,
    now: number,
    private readonly shape: PacerShape = { burstMs: 2, minBurstPackets: 10 },
  ) {
    this.tokens = shape.minBurstPackets * mss;
    this.last = now;
  }

  /** Bytes that may leave now at `rate` bytes/s. */
  budget(now: number, rate: number): number {
    const max = Math.max(rate * (this.shape.burstMs / 1000), this.shape.minBurstPackets * this.mss);
    this.tokens = Math.min(max, this.tokens + (rate * Math.max(0, now - this.last)) / 1000);
    this.last = now;
    return this.tokens;
  }

  onSent(bytes: number): void {
    this.tokens -= bytes;
  }

  /** When `bytes` more may leave at `rate` (ms, on the clock of the last budget() call). */
  nextSendTime(bytes: number, rate: number): number {
    if (this.tokens >= bytes) return this.last;
    // At least 1 µs later: a deficit of a rounding error must still move time forward.
    return this.last + Math.max(((bytes - this.tokens) * 1000) / rate, 0.001);
  }
}

/**
 * A fixed rate for a transport with no congestion control (udp-raw): `take()` resolves when the
 * datagram may leave. 8 ms of credit: late timers under load must not undershoot the rate.
 */
export class FixedRatePacer {
  private readonly pacer: Pacer;

  constructor(
    private readonly bytesPerSecond: number,
    /** The largest `take()` expected; a larger one raises it (the bucket must be able to hold it). */
    largestTakeBytes: number,
    private readonly clock: () => number = () => performance.now(),
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.pacer = new Pacer(largestTakeBytes, clock(), { burstMs: 8, minBurstPackets: 1 });
  }

  async take(bytes: number): Promise<void> {
    if (bytes > this.pacer.mss) this.pacer.mss = bytes;
    for (;;) {
      const now = this.clock();
      if (this.pacer.budget(now, this.bytesPerSecond) >= bytes) {
        this.pacer.onSent(bytes);
        return;
      }
      await this.sleep(Math.max(1, this.pacer.nextSendTime(bytes, this.bytesPerSecond) - now));
    }
  }
}
