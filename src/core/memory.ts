/**
 * Bun's garbage collector frees dead ArrayBuffers lazily: moving 1 GiB through a socket grew the
 * receiver to 130-150 MB (measured; minor collections and --smol did not help). One full collection
 * per 128 MiB moved keeps the receiver near 100-110 MB; each takes ~10 ms and makes the freed pages
 * fault in again, so once per 64 MiB cost ~15 % of 1 GiB's time on loopback (docs/BENCHMARKS.md).
 * Other runtimes collect eagerly enough and skip this.
 */
const RECLAIM_EVERY_BYTES = 128 << 20;
const fullCollection = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun?.gc;

/**
 * Entries between full collections, where they come by count (the sender's walk, one synchronous
 * loop). Each file leaves ~1–3 KB of short-lived objects (messages, events, frames, promises) that
 * Bun's collector let pile up to 0.3–0.5 GB of RSS before collecting, in a 10^6-file session whose
 * live heap was 10–40 MB (docs/BENCHMARKS.md, issue 14).
 */
const RECLAIM_EVERY_FILES = 4_096;
/**
 * Where they come by growth (a session's files): the resident size is read every 1,024 files (~50 µs
 * a read) and a collection made once it grew this much since the last one. Every 4,096 files, each
 * freed only 5–10 MB and took 30–140 ms: 40 % of the receiver's CPU for 10^5 empty files. 40 MB
 * windows reached 365 MB at 10^6 files, 16 MB ones 264 MB on the receiver (what a collection leaves
 * ratchets up with the tables and the allocator's unreturned pages). The sender peaked at 327–333 MB
 * with 16 MB windows or by count (runs that also had a since-fixed spike at the summary), 273 MB with
 * 8 MB ones: it collects every 8 MB (measured; docs/BENCHMARKS.md, issue 14).
 */
const LOOK_EVERY_FILES = 1_024;
export const RECEIVER_GROWTH_BYTES = 16 << 20;
export const SENDER_GROWTH_BYTES = 8 << 20;
const residentBytes = () => process.memoryUsage.rss();

export class GarbageReclaimer {
  private since = 0;
  private files = 0;
  /** The resident size after the last collection (or at the start), when collecting by growth. */
  private base: number;

  /** `growthBytes`: collect when the resident size grew this much, not every RECLAIM_EVERY_FILES files. */
  constructor(private readonly growthBytes = 0) {
    this.base = growthBytes > 0 && fullCollection ? residentBytes() : 0;
  }

  /** One more file (or walked entry) handled; collect when enough of them (or of the growth) came. */
  fileDone(): void {
    if (!fullCollection) return;
    if (this.growthBytes === 0) {
      if (++this.files >= RECLAIM_EVERY_FILES) this.collect();
      return;
    }
    if (++this.files < LOOK_EVERY_FILES) return;
    this.files = 0;
    const now = residentBytes();
    // A size below the base (pages given back) lowers it: growth is counted from the lowest point.
    if (now < this.base) this.base = now;
    else if (now - this.base >= this.growthBytes) this.collect();
  }

  /** Count bytes that became garbage; collect when enough accumulated. */
  moved(bytes: number): void {
    this.since += bytes;
    if (this.since < RECLAIM_EVERY_BYTES || !fullCollection) return;
    this.collect();
  }

  /**
   * Collect now: before a session's summary, whose sort and lines come on top of everything it
   * holds (the peak of a 10^6-file session on each side was there, 20–90 MB above the rest, measured).
   */
  collectNow(): void {
    this.collect();
  }

  private collect(): void {
    this.since = 0;
    this.files = 0;
    fullCollection?.(true);
    if (this.growthBytes > 0) this.base = residentBytes();
  }
}
