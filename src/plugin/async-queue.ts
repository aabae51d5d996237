/**
 * Items waiting for a reader, as an async iterable or by `next(timeout)`: the one queue between a
 * socket's callbacks and the session that reads them, for the built-in transports, the core and
 * outside authors (exported from `xfer/plugin`).
 *
 * Bounded one of two ways. `maxItems`: beyond it an item is dropped and counted in `overflow`, as
 * a full socket buffer drops a datagram — memory stays bounded when the reader (its disk) is behind.
 * Byte watermarks: above `highWaterBytes` the source is paused and below `lowWaterBytes` resumed,
 * so a stream's peer feels backpressure instead of the queue growing.
 */
export interface AsyncQueueOptions<T> {
  maxItems?: number;
  watermarks?: {
    sizeOf: (item: T) => number;
    highWaterBytes: number;
    lowWaterBytes: number;
    pause: () => void;
    resume: () => void;
  };
}

/** Past this many consumed slots at the front, the array is compacted (shift() is O(n) on long arrays). */
const COMPACT_AT = 1024;

export class AsyncQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private head = 0;
  private bytes = 0;
  private paused = false;
  private ended = false;
  private failure: Error | null = null;
  private waiters: (() => void)[] = [];
  /** Items dropped because `maxItems` were already waiting. */
  overflow = 0;

  constructor(private readonly options: AsyncQueueOptions<T> = {}) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /** Queues `item`; false when it was dropped (full, or the queue has ended). */
  push(item: T): boolean {
    if (this.ended || this.failure) return false;
    const { maxItems, watermarks } = this.options;
    if (maxItems !== undefined && this.length >= maxItems) {
      this.overflow++;
      return false;
    }
    this.items.push(item);
    if (watermarks) {
      this.bytes += watermarks.sizeOf(item);
      if (!this.paused && this.bytes > watermarks.highWaterBytes) {
        this.paused = true;
        watermarks.pause();
      }
    }
    this.notify();
    return true;
  }

  /** No more items: readers get what is queued, then the end. */
  end(): void {
    this.ended = true;
    this.notify();
  }

  /** Readers get what is queued, then this error. */
  fail(err: Error): void {
    this.failure ??= err;
    this.notify();
  }

  /** The next item, or null at the end or after `timeoutMs`; throws the failure once drained. */
  async next(timeoutMs = Number.POSITIVE_INFINITY): Promise<T | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.length === 0) {
      if (this.failure) throw this.failure;
      if (this.ended) return null;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await this.wait(left);
    }
    return this.take();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      while (this.length > 0) yield this.take();
      if (this.failure) throw this.failure;
      if (this.ended) return;
      await this.wait(Number.POSITIVE_INFINITY);
    }
  }

  private take(): T {
    const item = this.items[this.head] as T;
    (this.items as (T | undefined)[])[this.head] = undefined; // let it be collected
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= COMPACT_AT && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    const w = this.options.watermarks;
    if (w) {
      this.bytes -= w.sizeOf(item);
      if (this.paused && this.bytes < w.lowWaterBytes) {
        this.paused = false;
        w.resume();
      }
    }
    return item;
  }

  private wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (!Number.isFinite(ms)) {
        this.waiters.push(resolve);
        return;
      }
      const woken = () => {
        clearTimeout(timer);
        resolve();
      };
      // A timed-out reader leaves the list, so idle polling does not grow it.
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(woken);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve();
      }, ms);
      this.waiters.push(woken);
    });
  }

  private notify(): void {
    if (this.waiters.length === 0) return;
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }
}
