/** Received datagrams waiting for the session, as an async iterable; bounded (overflow is counted). */
const MAX_QUEUED = 65_536;

export class DatagramQueue implements AsyncIterable<Uint8Array> {
  private readonly items: Uint8Array[] = [];
  private wake: (() => void) | null = null;
  private ended = false;
  /** Datagrams dropped because the session fell this far behind (an application-side loss). */
  overflow = 0;

  push(d: Uint8Array): void {
    if (this.ended) return;
    if (this.items.length >= MAX_QUEUED) {
      this.overflow++;
      return;
    }
    this.items.push(d);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      const d = this.items.shift();
      if (d) {
        yield d;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
  }
}
