/** Reads the length-prefixed path messages off a stream, then hands the rest of it on untouched. */
import type { StreamConnection } from "../../plugin/api.ts";
import { XferError } from "../errors.ts";
import { type FillLimits, StreamPrefix } from "../protocol/stream-prefix.ts";
import { MAX_PRELUDE_BYTES, type PathMessage, PRELUDE_HEADER_BYTES, parsePathMessage } from "./paths.ts";

export class PreludeReader {
  private readonly prefix: StreamPrefix;

  constructor(private readonly conn: StreamConnection) {
    this.prefix = new StreamPrefix(conn.readable);
  }

  async message(timeoutMs: number): Promise<PathMessage> {
    const limits: FillLimits = {
      timeoutMs,
      timeout: () => new XferError("timeout", "the peer did not answer about paths in time"),
      ended: () => new XferError("peer-gone", "the peer closed the connection while choosing a path"),
    };
    await this.prefix.fill(PRELUDE_HEADER_BYTES, limits);
    const head = this.prefix.bytes;
    const length = new DataView(head.buffer, head.byteOffset).getUint32(0);
    if (length > MAX_PRELUDE_BYTES) throw new XferError("protocol", "the peer's path message is too large");
    await this.prefix.fill(PRELUDE_HEADER_BYTES + length, limits);
    return parsePathMessage(this.prefix.take(PRELUDE_HEADER_BYTES + length).subarray(PRELUDE_HEADER_BYTES));
  }

  /** The stream from here on: what was read past the last message first, then the rest, once. */
  rest(remote = this.conn.remote): StreamConnection {
    return this.prefix.streamOn(this.conn, remote);
  }
}
