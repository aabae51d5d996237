import type { EventSink } from "./events.ts";

const REPORT_EVERY_MS = 250;
/** Rate smoothing: long enough to hide per-chunk jitter, short enough to follow a real change. */
const RATE_HALF_LIFE_MS = 2000;

/** Counts payload bytes of a session and emits throttled progress events with rate and ETA. */
export class Progress {
  private bytes = 0;
  private lastReportAt: number;
  private lastReportBytes = 0;
  private rate = 0;
  readonly startedAt: number;
  file = "";

  constructor(
    private readonly emit: EventSink,
    private readonly totalBytes: number | null,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.startedAt = now();
    this.lastReportAt = this.startedAt;
  }

  get transferred(): number {
    return this.bytes;
  }

  add(n: number): void {
    this.bytes += n;
    const t = this.now();
    if (t - this.lastReportAt >= REPORT_EVERY_MS) this.report(t);
  }

  /** One last event so a reader always sees the final count. */
  flush(): void {
    this.report(this.now());
  }

  elapsedSeconds(): number {
    return (this.now() - this.startedAt) / 1000;
  }

  private report(t: number): void {
    const dt = t - this.lastReportAt;
    if (dt > 0) {
      const instant = ((this.bytes - this.lastReportBytes) * 1000) / dt;
      const w = this.rate === 0 ? 1 : 1 - 0.5 ** (dt / RATE_HALF_LIFE_MS);
      this.rate += w * (instant - this.rate);
    }
    this.lastReportAt = t;
    this.lastReportBytes = this.bytes;
    const left = this.totalBytes === null ? null : Math.max(0, this.totalBytes - this.bytes);
    this.emit({
      event: "progress",
      bytes: this.bytes,
      totalBytes: this.totalBytes,
      rateBytesPerSec: Math.round(this.rate),
      etaSeconds: left === null || this.rate <= 0 ? null : Math.round(left / this.rate),
      file: this.file,
    });
  }
}
