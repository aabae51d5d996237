/**
 * The plugin API's StreamConnection over a udp-reliable Connection: async reads, writes that wait
 * while the send buffer is full (the peer's window and our congestion window drain it), end()
 * that resolves once the peer acknowledged everything including FIN.
 */
import type { StreamConnection, TransportContext } from "../../src/plugin/api.ts";
import type { Connection } from "./connection.ts";
import type { Driver } from "./driver.ts";

const STATS_INTERVAL_MS = 1000;

type Waiter = { resolve: () => void; reject: (err: Error) => void };

export class UdpReliableStream implements StreamConnection {
  private driver!: Driver;
  private readWaiter: Waiter | null = null;
  private readonly writeWaiters: Waiter[] = [];
  private readonly endWaiters: Waiter[] = [];
  private lastStats = 0;
  private finalStatsSent = false;
  readonly readable: AsyncIterable<Uint8Array>;

  constructor(
    private readonly conn: Connection,
    readonly remote: string,
    private readonly ctx: TransportContext,
    private readonly onClosed: () => void,
  ) {
    this.readable = { [Symbol.asyncIterator]: () => this.reader() };
  }

  attach(driver: Driver): void {
    this.driver = driver;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.throwIfFailed();
    this.conn.write(chunk);
    this.driver.kick();
    if (this.conn.writable > 0) return;
    await new Promise<void>((resolve, reject) => this.writeWaiters.push({ resolve, reject }));
  }

  async end(): Promise<void> {
    this.throwIfFailed();
    this.conn.end();
    this.driver.kick();
    if (this.conn.delivered) return;
    await new Promise<void>((resolve, reject) => this.endWaiters.push({ resolve, reject }));
  }

  destroy(reason?: Error): void {
    this.conn.abort(reason?.message ?? "destroyed", performance.now());
    this.driver.step();
    this.settle(this.conn.error ?? new Error("connection destroyed"));
  }

  /** Called by the driver after every step. */
  onStep(): void {
    const now = performance.now();
    if (now - this.lastStats >= STATS_INTERVAL_MS) {
      this.lastStats = now;
      this.ctx.stats(this.conn.stats());
    }
    if (this.readWaiter && (this.conn.readEnded || this.hasData() || this.conn.state === "closed")) {
      const w = this.readWaiter;
      this.readWaiter = null;
      w.resolve();
    }
    if (this.conn.writable > 0) for (const w of this.writeWaiters.splice(0)) w.resolve();
    if (this.conn.delivered) for (const w of this.endWaiters.splice(0)) w.resolve();
    if (this.conn.state === "closed") this.settle(this.conn.error);
  }

  private peeked: Uint8Array | null = null;

  private hasData(): boolean {
    if (!this.peeked) this.peeked = this.conn.read();
    return this.peeked !== null;
  }

  private async *reader(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const chunk = this.peeked ?? this.conn.read();
      this.peeked = null;
      if (chunk) {
        // Reading frees window: let the driver advertise it.
        this.driver.kick();
        yield chunk;
        continue;
      }
      if (this.conn.readEnded) {
        this.conn.checkClose(performance.now());
        this.driver.kick();
        return;
      }
      if (this.conn.state === "closed" || this.conn.state === "closing")
        throw this.conn.error ?? new Error("connection closed before the peer finished sending");
      await new Promise<void>((resolve, reject) => {
        this.readWaiter = { resolve, reject };
      });
    }
  }

  private throwIfFailed(): void {
    if (this.conn.error) throw this.conn.error;
    if (this.conn.state === "closed" || this.conn.state === "closing") throw new Error("connection closed");
  }

  private settle(err: Error | null): void {
    if (!this.finalStatsSent) {
      this.finalStatsSent = true;
      this.ctx.stats(this.conn.stats());
      this.onClosed();
    }
    const failure = err ?? new Error("connection closed");
    for (const w of this.writeWaiters.splice(0)) w.reject(failure);
    for (const w of this.endWaiters.splice(0)) (this.conn.delivered ? w.resolve : () => w.reject(failure))();
    const r = this.readWaiter;
    this.readWaiter = null;
    r?.resolve(); // the reader loop sees the state and ends or throws
  }
}
