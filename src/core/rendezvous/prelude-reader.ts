/** Reads the length-prefixed path messages off a stream, then hands the rest of it on untouched. */
import type { StreamConnection } from "../../plugin/api.ts";
import { XferError } from "../errors.ts";
import { MAX_PRELUDE_BYTES, type PathMessage, PRELUDE_HEADER_BYTES, parsePathMessage } from "./paths.ts";

export class PreludeReader {
  private buffered = new Uint8Array(0);
  private readonly source: AsyncIterator<Uint8Array>;

  constructor(private readonly conn: StreamConnection) {
    this.source = conn.readable[Symbol.asyncIterator]();
  }

  async message(timeoutMs: number): Promise<PathMessage> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new XferError("timeout", "the peer did not answer about paths in time")),
        timeoutMs,
      );
    });
    try {
      for (;;) {
        if (this.buffered.byteLength >= PRELUDE_HEADER_BYTES) {
          const length = new DataView(this.buffered.buffer, this.buffered.byteOffset).getUint32(0);
          if (length > MAX_PRELUDE_BYTES) throw new XferError("protocol", "the peer's path message is too large");
          if (this.buffered.byteLength >= PRELUDE_HEADER_BYTES + length) {
            const body = this.buffered.slice(PRELUDE_HEADER_BYTES, PRELUDE_HEADER_BYTES + length);
            this.buffered = this.buffered.subarray(PRELUDE_HEADER_BYTES + length);
            return parsePathMessage(body);
          }
        }
        const next = await Promise.race([this.source.next(), timeout]);
        if (next.done) throw new XferError("peer-gone", "the peer closed the connection while choosing a path");
        const joined = new Uint8Array(this.buffered.byteLength + next.value.byteLength);
        joined.set(this.buffered);
        joined.set(next.value, this.buffered.byteLength);
        this.buffered = joined;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** The stream from here on: what was read past the last message first, then the rest, once. */
  rest(remote = this.conn.remote): StreamConnection {
    const { conn, source } = this;
    const first = this.buffered;
    this.buffered = new Uint8Array(0);
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
}
