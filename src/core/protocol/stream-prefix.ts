/**
 * A stream's first bytes, read under a deadline — the handshake's frames, a relay's answers, the
 * path messages after a relay — and then the stream itself, handed on with whatever was read past
 * them first. Written once because each of those readers must be bounded in time and size, and
 * each must lose no byte of what follows.
 */
import type { StreamConnection } from "../../plugin/api.ts";
import type { XferError } from "../errors.ts";

export interface FillLimits {
  timeoutMs: number;
  /** The error when the deadline passes first. */
  timeout: () => XferError;
  /** The error when the stream ends first. */
  ended: () => XferError;
}

export class StreamPrefix {
  private buffered: Uint8Array = new Uint8Array(0);
  readonly source: AsyncIterator<Uint8Array>;

  constructor(readable: AsyncIterable<Uint8Array>) {
    this.source = readable[Symbol.asyncIterator]();
  }

  /** What has been read and not taken. */
  get bytes(): Uint8Array {
    return this.buffered;
  }

  /** Reads until at least `bytes` are buffered. */
  async fill(bytes: number, limits: FillLimits): Promise<void> {
    if (this.buffered.byteLength >= bytes) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(limits.timeout()), limits.timeoutMs);
    });
    try {
      while (this.buffered.byteLength < bytes) {
        const next = await Promise.race([this.source.next(), timeout]);
        if (next.done) throw limits.ended();
        const joined = new Uint8Array(this.buffered.byteLength + next.value.byteLength);
        joined.set(this.buffered);
        joined.set(next.value, this.buffered.byteLength);
        this.buffered = joined;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** A copy of the first `n` buffered bytes, which are consumed. */
  take(n: number): Uint8Array {
    const out = this.buffered.slice(0, n);
    this.buffered = this.buffered.subarray(n);
    return out;
  }

  /** Everything buffered, consumed (the bytes that came after the prefix). */
  takeRest(): Uint8Array {
    const rest = this.buffered;
    this.buffered = new Uint8Array(0);
    return rest;
  }

  /** The stream from here on: what was read past the prefix first, then the rest, once. */
  streamOn(conn: StreamConnection, remote = conn.remote): StreamConnection {
    return continueStream(conn, this.takeRest(), this.source, remote);
  }
}

/** `conn` as a StreamConnection whose reading goes on from `source`, with `first` yielded before it. */
export function continueStream(
  conn: StreamConnection,
  first: Uint8Array,
  source: AsyncIterator<Uint8Array>,
  remote: string,
): StreamConnection {
  return {
    remote,
    readable: {
      async *[Symbol.asyncIterator]() {
        if (first.byteLength > 0) yield first;
        for (;;) {
          const next = await source.next();
          if (next.done) return;
          yield next.value;
        }
      },
    },
    write: (chunk) => conn.write(chunk),
    end: () => conn.end(),
    destroy: (reason) => conn.destroy(reason),
  };
}
