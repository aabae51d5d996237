import type { EventSink } from "./events.ts";

const REPORT_EVERY_MS = 250;
/** Rate smoothing: long enough to hide per-chunk jitter, short enough to follow a real change. */
const RATE_HALF_LIFE_MS = 2000;

/**
 * Counts payload bytes of a session and emits throttled progress events with rate and ETA.
 * What is shown is what the receiver has: bytes it already had (resume, identical files) plus, on a
 * sender whose receiver acknowledges (the "received" message), what it acknowledged, else what was
 * handed to the transport.
 */
export class Progress {
  private bytes = 0;
  private already = 0;
  /** null: no acknowledgements, show what was sent. */
  private acked: number | null = null;
  private lastReportAt: number;
  private lastReportShown = 0;
  private rate = 0;
  readonly startedAt: number;
  /**
   * Files in the order they started, with the session byte count at their start: the bar names the
   * file at the position it shows, which on an acknowledging sender trails the file being queued.
   */
  private files: { at: number; name: string; number: number }[] = [];
  /** Where `files` starts: entries before it are forgotten (shift() per file was O(n) each, per report). */
  private first = 0;
  private started = 0;

  constructor(
    private readonly emit: EventSink,
    private totalBytes: number | null,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.startedAt = now();
    this.lastReportAt = this.startedAt;
  }

  /** The next file begins here (after what was added so far). */
  set file(name: string) {
    const next = { at: this.bytes, name, number: ++this.started };
    // A file that ended where it began (empty, already there) can never be the one shown: one list
    // entry for a run of them, or a tree of 10^6 empty files kept 10^6 entries until the end.
    if (this.files.length > this.first && this.files.at(-1)!.at === next.at) this.files[this.files.length - 1] = next;
    else this.files.push(next);
  }

  /** Payload bytes moved by this session (not counting what was already there). */
  get transferred(): number {
    return this.bytes;
  }

  add(n: number): void {
    this.bytes += n;
    if (this.acked === null) this.maybeReport();
  }

  /** Bytes the receiver had before this session (a resumed prefix, an identical file): shown, not timed. */
  alreadyThere(n: number): void {
    this.already += n;
    // Not a rate: the smoothing restarts from here rather than reading a jump as speed.
    this.lastReportShown += n;
  }

  /** Bytes counted in the total that will not come (a file refused by a later page of the offer). */
  notComing(n: number): void {
    if (this.totalBytes !== null) this.totalBytes -= n;
  }

  /** From now on the bar follows `acknowledge()`, not `add()`. */
  useAcknowledgements(): void {
    this.acked ??= 0;
  }

  /** The receiver's count of this session's payload bytes. */
  acknowledge(bytes: number): void {
    if (this.acked === null) return;
    this.acked = Math.min(Math.max(this.acked, bytes), this.bytes);
    this.maybeReport();
  }

  /** One last event so a reader always sees the final count; `delivered`: everything sent arrived. */
  flush(delivered = false): void {
    if (delivered && this.acked !== null) this.acked = this.bytes;
    this.report(this.now());
  }

  elapsedSeconds(): number {
    return (this.now() - this.startedAt) / 1000;
  }

  private maybeReport(): void {
    const t = this.now();
    if (t - this.lastReportAt >= REPORT_EVERY_MS) this.report(t);
  }

  /** The file at `position` (this session's bytes); files wholly before it are forgotten. */
  private fileAt(position: number): { name: string; number: number } {
    const { files } = this;
    while (this.first + 1 < files.length && files[this.first + 1]!.at <= position) this.first++;
    if (this.first >= 1024 && this.first * 2 >= files.length) {
      this.files = files.slice(this.first);
      this.first = 0;
    }
    return this.files[this.first] ?? { name: "", number: 0 };
  }

  private report(t: number): void {
    const position = this.acked ?? this.bytes;
    const shown = this.already + position;
    const current = this.fileAt(position);
    const dt = t - this.lastReportAt;
    if (dt > 0) {
      const instant = (Math.max(0, shown - this.lastReportShown) * 1000) / dt;
      const w = this.rate === 0 ? 1 : 1 - 0.5 ** (dt / RATE_HALF_LIFE_MS);
      this.rate += w * (instant - this.rate);
    }
    this.lastReportAt = t;
    this.lastReportShown = shown;
    const left = this.totalBytes === null ? null : Math.max(0, this.totalBytes - shown);
    this.emit({
      event: "progress",
      bytes: shown,
      totalBytes: this.totalBytes,
      alreadyThere: this.already,
      rateBytesPerSec: Math.round(this.rate),
      etaSeconds: left === null || this.rate <= 0 ? null : Math.round(left / this.rate),
      file: current.name,
      fileNumber: current.number,
    });
  }
}
