/**
 * Runs one pure Connection against the real world: a UDP port, the clock and timers. All protocol
 * decisions stay in the Connection; this file only moves datagrams and wakes it up on time.
 */
import { setImmediate } from "node:timers";
import type { UdpPeer, UdpPort } from "../../src/plugin/udp/index.ts";
import type { Connection } from "./connection.ts";

/** Timers below this are not worth arming: JS timers cannot fire sooner (docs/ARQ.md §3). */
const MIN_TIMER_MS = 1;
/** Datagrams processed between forced steps (see received()). */
const ACK_EVERY = 32;

/** Every running driver in this process, so settle() can wait for closes to finish. */
const running = new Set<Driver>();
const idleWaiters: (() => void)[] = [];

/** Resolves once no connection of this process is still closing (or open). */
export function allClosed(): Promise<void> {
  if (running.size === 0) return Promise.resolve();
  return new Promise((resolve) => idleWaiters.push(resolve));
}

export class Driver {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private flushQueued = false;
  /** Datagrams the kernel did not take yet (local backpressure, not loss). */
  private outbox: Uint8Array[] = [];
  private stopped = false;
  private sinceStep = 0;

  constructor(
    readonly conn: Connection,
    private readonly port: UdpPort,
    private readonly peer: () => UdpPeer,
    /** Called after every step, so the stream adapter can wake readers and writers. */
    private readonly afterStep: () => void,
  ) {
    running.add(this);
  }

  /** Run a step soon (coalesced: a burst of received datagrams costs one step). */
  kick(): void {
    if (this.flushQueued || this.stopped) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      this.step();
    });
  }

  /**
   * A datagram was fed to the connection. Steps at once every ACK_EVERY datagrams: one event-loop
   * turn can hold hundreds of them, and waiting for its end would starve the peer of ACKs.
   */
  received(): void {
    if (++this.sinceStep >= ACK_EVERY) this.step();
    else this.kick();
  }

  /** The socket can take datagrams again. */
  onWritable(): void {
    this.kick();
  }

  step(): void {
    if (this.stopped) return;
    this.sinceStep = 0;
    const now = performance.now();
    this.conn.tick(now);
    if (this.flushOutbox()) {
      const out = this.conn.poll(now);
      if (out.length) {
        const sent = this.port.send(out, this.peer());
        if (sent < out.length) this.outbox = out.slice(sent);
        else this.recycle();
      }
    }
    this.afterStep();

    if (this.conn.state === "closed") {
      this.stop();
      return;
    }
    this.arm(now);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    running.delete(this);
    if (running.size === 0) for (const resolve of idleWaiters.splice(0)) resolve();
  }

  /** Sends what is waiting; true when the outbox is empty again. */
  private flushOutbox(): boolean {
    if (this.outbox.length === 0) return true;
    const sent = this.port.send(this.outbox, this.peer());
    this.outbox = this.outbox.slice(sent);
    if (this.outbox.length) return false;
    this.recycle();
    return true;
  }

  /** Every datagram polled so far left: where the socket copied them, their memory serves the next ones. */
  private recycle(): void {
    if (this.port.copiesOnSend) this.conn.recycleDatagrams();
  }

  private arm(now: number): void {
    if (this.outbox.length) return; // onWritable() will step
    const deadline = this.conn.deadline();
    if (!Number.isFinite(deadline)) return;
    if (this.timer && deadline >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = deadline;
    const delay = Math.max(0, deadline - now);
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Number.POSITIVE_INFINITY;
        this.step();
      },
      delay < MIN_TIMER_MS ? 0 : delay,
    );
  }
}
