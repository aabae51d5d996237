/**
 * Bun's garbage collector frees dead ArrayBuffers lazily: moving 1 GiB through a socket grew the
 * receiver to ~150 MB (measured; minor collections and --smol did not help). One full collection
 * per 64 MiB moved keeps each side near 115 MB with no measurable cost in throughput
 * (docs/BENCHMARKS.md). Other runtimes collect eagerly enough and skip this.
 */
const RECLAIM_EVERY_BYTES = 64 << 20;
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
