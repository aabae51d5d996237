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
 * Files a session handles between full collections. Each leaves ~1–3 KB of short-lived objects
 * (messages, events, frames, promises) that the collector let pile up to 0.3–0.5 GB of RSS before
 * collecting in a 10^6-file session whose live heap was 10–40 MB (docs/BENCHMARKS.md, issue 14).
 */
const RECLAIM_EVERY_FILES = 4_096;

export class GarbageReclaimer {
  private since = 0;
  private files = 0;

  /** One more file (or walked entry) handled; collect every RECLAIM_EVERY_FILES. */
  fileDone(): void {
    if (++this.files < RECLAIM_EVERY_FILES || !fullCollection) return;
    this.files = 0;
    fullCollection(true);
  }

  /** Count bytes that became garbage; collect when enough accumulated. */
  moved(bytes: number): void {
    this.since += bytes;
    if (this.since < RECLAIM_EVERY_BYTES || !fullCollection) return;
    this.since = 0;
    fullCollection(true);
  }
}
