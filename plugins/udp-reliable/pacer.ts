/**
 * Token-bucket pacing with a burst of about 2 ms of rate (at least 10 datagrams). JS timers fire
 * about every millisecond at best, so smooth pacing means: on every wake-up, send what accrued
 * since the last one, in one batch (ARQ-NOTES §3; a fixed small burst capped throughput elsewhere).
 */

const BURST_MS = 2;
const MIN_BURST_PACKETS = 10;

export class Pacer {
  private tokens: number;
  private last: number;

  constructor(
    /** Datagram size in bytes; grows when a larger path MTU is confirmed. */
    public mss: number,
    now: number,
  ) {
    this.tokens = MIN_BURST_PACKETS * mss;
    this.last = now;
  }

  /** Bytes that may leave now at `rate` bytes/s. */
  budget(now: number, rate: number): number {
    const max = Math.max(rate * (BURST_MS / 1000), MIN_BURST_PACKETS * this.mss);
    this.tokens = Math.min(max, this.tokens + (rate * (now - this.last)) / 1000);
    this.last = now;
    return this.tokens;
  }

  onSent(bytes: number): void {
    this.tokens -= bytes;
  }

  /** When `bytes` more may leave at `rate` (ms from the last budget() call's time). */
  nextSendTime(bytes: number, rate: number): number {
    if (this.tokens >= bytes) return this.last;
    // At least 1 µs later: a deficit of a rounding error must still move time forward.
    return this.last + Math.max(((bytes - this.tokens) * 1000) / rate, 0.001);
  }
}
