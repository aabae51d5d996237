/**
 * Bun's garbage collector frees dead ArrayBuffers lazily: moving 1 GiB through a socket grew the
 * receiver to 130-150 MB (measured; minor collections and --smol did not help). One full collection
 * per 128 MiB moved keeps the receiver near 100-110 MB; each takes ~10 ms and makes the freed pages
 * fault in again, so once per 64 MiB cost ~15 % of 1 GiB's time on loopback (docs/BENCHMARKS.md).
 * Other runtimes collect eagerly enough and skip this.
 */
const RECLAIM_EVERY_BYTES = 128 << 20;
const fullCollection = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun?.gc;

export class GarbageReclaimer {
  private since = 0;

  /** Count bytes that became garbage; collect when enough accumulated. */
  moved(bytes: number): void {
    this.since += bytes;
    if (this.since < RECLAIM_EVERY_BYTES || !fullCollection) return;
    this.since = 0;
    fullCollection(true);
  }
}
