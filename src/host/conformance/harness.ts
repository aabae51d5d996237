/**
 * What every conformance case runs inside: a deadline, a quiet TransportContext, and a scope that
 * closes whatever the case opened (even when the plugin hangs), so one failing case cannot leak
 * sockets into the next or keep the process alive.
 */
import type {
  ConnectionOf,
  Endpoint,
  Listener,
  TransportContext,
  TransportDefinition,
  TransportKind,
} from "../../plugin/api.ts";

export const LOOPBACK = "127.0.0.1";

export class CaseFailure extends Error {
  override readonly name = "CaseFailure";
}

/** Throw a CaseFailure with `message` unless `condition` holds. */
export function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CaseFailure(message);
}

/** Settle with `work`, or reject with `what` after `ms`; the timer never outlives the race. */
export async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CaseFailure(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Mark a promise the case awaits later as handled: if the case fails before awaiting it, its
 * rejection (the connection torn down by cleanup) must not surface as an unhandled error.
 */
export function later<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Messages the plugin logged, kept for the report instead of printed. */
export function quietContext(extra: Record<string, string>, logs: string[]): TransportContext {
  return {
    options: { extra },
    log: {
      debug: () => {},
      info: () => {},
      warn: (m) => logs.push(m),
    },
    stats: () => {},
  };
}

/**
 * Connections a listener accepted, handed out in order. Several callers may wait at once: a
 * transport may accept only after the dial resolved (a preamble or handshake first), so a case that
 * dials N and then awaits N accepts finds none ready yet.
 */
export class Accepted<C> {
  private readonly ready: C[] = [];
  private readonly waiting: ((c: C) => void)[] = [];

  push(conn: C): void {
    const w = this.waiting.shift();
    if (w) w(conn);
    else this.ready.push(conn);
  }

  next(ms: number): Promise<C> {
    const ready = this.ready.shift();
    if (ready) return Promise.resolve(ready);
    let mine!: (c: C) => void;
    const arrival = new Promise<C>((r) => {
      mine = r;
      this.waiting.push(r);
    });
    // A waiter that timed out leaves the queue, or it would swallow the next connection.
    return within(ms, "waiting for the listener to accept a connection", arrival).catch((err: unknown) => {
      const i = this.waiting.indexOf(mine);
      if (i >= 0) this.waiting.splice(i, 1);
      throw err;
    });
  }
}

/** Everything one case opened; dispose() closes it all, each step bounded. */
export class Scope<K extends TransportKind> {
  private readonly cleanups: (() => unknown)[] = [];
  readonly controller = new AbortController();

  constructor(
    readonly transport: TransportDefinition<K>,
    readonly ctx: TransportContext,
  ) {}

  defer(cleanup: () => unknown): void {
    this.cleanups.push(cleanup);
  }

  async listen(ms: number): Promise<{ listener: Listener; accepted: Accepted<ConnectionOf<K>>; at: Endpoint }> {
    const accepted = new Accepted<ConnectionOf<K>>();
    const listener = await within(
      ms,
      "listen()",
      this.transport.listen({ host: LOOPBACK, port: 0 }, this.ctx, (conn) => {
        this.defer(() => closeConnection(conn));
        accepted.push(conn);
      }),
    );
    this.defer(() => listener.close());
    expect(
      Number.isInteger(listener.address.port) && listener.address.port > 0,
      `listen() on port 0 must report the port it bound, got ${listener.address.port}`,
    );
    return { listener, accepted, at: { host: LOOPBACK, port: listener.address.port } };
  }

  async dial(to: Endpoint, ms: number, signal = this.controller.signal): Promise<ConnectionOf<K>> {
    const conn = await within(ms, `dial(${to.host}:${to.port})`, this.transport.dial(to, this.ctx, signal));
    this.defer(() => closeConnection(conn));
    return conn;
  }

  /** A listener plus one dialled connection and its accepted twin. */
  async pair(ms: number): Promise<{ client: ConnectionOf<K>; server: ConnectionOf<K>; listener: Listener }> {
    const { listener, accepted, at } = await this.listen(ms);
    const client = await this.dial(at, ms);
    const server = await accepted.next(ms);
    return { client, server, listener };
  }

  async dispose(): Promise<void> {
    this.controller.abort();
    for (const cleanup of this.cleanups.reverse()) {
      await within(1000, "cleanup", Promise.resolve().then(cleanup)).catch(() => {});
    }
  }
}

function closeConnection(conn: ConnectionOf<TransportKind>): void {
  if ("destroy" in conn) conn.destroy();
  else conn.close();
}

/** Thrown by a case that cannot run here (e.g. no module path for the exit probe). */
export class CaseSkipped extends Error {
  override readonly name = "CaseSkipped";
}
