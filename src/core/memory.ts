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
 * How often (in files or walked entries) the resident size is looked at: each file leaves ~1–3 KB of
 * short-lived objects (messages, events, frames, promises) that Bun's collector let pile up to
 * 0.3–0.5 GB of RSS before collecting, in a 10^6-file session whose live heap was 10–40 MB.
 */
const LOOK_EVERY_FILES = 1_024;
/**
 * Growth of the resident size since the last full collection that makes the next one. A collection
 * every 4,096 files (before) freed only 5–10 MB each and took 30–140 ms: 40 % of the receiver's CPU
 * for 10^5 empty files (docs/BENCHMARKS.md, issue 14); measuring what piles up collects as rarely as
 * the garbage allows, and reading the size costs ~50 µs.
 */
const RECLAIM_GROWTH_BYTES = 40 << 20;
/**
 * Above this resident size, collections come after 8 MB of growth: what a collection leaves behind
 * ratchets up with the live heap (a 10^6-file session's tables) and the allocator's unreturned pages,
 * and 40 MB windows on top of that reached 365 MB at 10^6 files (measured; the aim is < 300 MB).
 */
const TIGHT_ABOVE_BYTES = 200 << 20;
const TIGHT_GROWTH_BYTES = 8 << 20;
const residentBytes = () => process.memoryUsage.rss();

export class GarbageReclaimer {
  private since = 0;
  private files = 0;
  /** The resident size after the last collection (or at the start). */
  private base = fullCollection ? residentBytes() : 0;

  /** One more file (or walked entry) handled; collect once the resident size grew enough. */
  fileDone(): void {
    if (++this.files < LOOK_EVERY_FILES || !fullCollection) return;
    this.files = 0;
    const now = residentBytes();
    // A size below the base (pages given back) lowers it: growth is counted from the lowest point.
    if (now < this.base) this.base = now;
    else if (now - this.base >= (now > TIGHT_ABOVE_BYTES ? TIGHT_GROWTH_BYTES : RECLAIM_GROWTH_BYTES)) this.collect();
  }

  /** Count bytes that became garbage; collect when enough accumulated. */
  moved(bytes: number): void {
    this.since += bytes;
    if (this.since < RECLAIM_EVERY_BYTES || !fullCollection) return;
    this.collect();
  }

  private collect(): void {
    this.since = 0;
    fullCollection?.(true);
    this.base = residentBytes();
  }
}
