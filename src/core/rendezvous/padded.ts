/**
 * The padded start of a relayed stream (docs/PROTOCOL.md §4, revision 1.3): the first PADDED_BYTES
 * of session bytes each way on a connection to the relay go in frames, and each write's frames are
 * followed by a padding frame sent on its own. The meeting's messages are small and come one at a
 * time, so without it a lost segment is the only one in flight: Linux finds it by its tail-loss probe
 * (2·SRTT + 200 ms) and then its retransmission timeout. With a second segment behind it, the peer's
 * SACK reveals the loss after about a round trip (RACK). Both the relay and its clients use it. Pure.
 */
import { XferError } from "../errors.ts";

/** Session bytes framed at the start of each direction; after them, the bytes go raw. */
export const PADDED_BYTES = 32 * 1024;
const HEADER_BYTES = 2;
const MAX_FRAME = 0xffff;
/** A frame of length 0: nothing, there only to be a second segment. */
export const PAD_FRAME: Uint8Array = new Uint8Array(HEADER_BYTES);

/** Frames what one side writes. */
export class PaddedWriter {
  private left = PADDED_BYTES;

  /** True once PADDED_BYTES went out framed: every later chunk goes as it is. */
  get done(): boolean {
    return this.left === 0;
  }

  /**
   * The sends for `chunk`, in order, each to be its own write: its frames (with any raw bytes past
   * the framed part), then the padding frame, unless the framed part ended in this chunk.
   */
  encode(chunk: Uint8Array): Uint8Array[] {
    if (this.left === 0) return [chunk];
    if (chunk.byteLength === 0) return [];
    const framed = Math.min(chunk.byteLength, this.left);
    const frames = Math.ceil(framed / MAX_FRAME);
    const out = new Uint8Array(framed + frames * HEADER_BYTES + (chunk.byteLength - framed));
    const view = new DataView(out.buffer);
    let at = 0;
    for (let from = 0; from < framed; from += MAX_FRAME) {
      const n = Math.min(MAX_FRAME, framed - from);
      view.setUint16(at, n);
      out.set(chunk.subarray(from, from + n), at + HEADER_BYTES);
      at += HEADER_BYTES + n;
    }
    out.set(chunk.subarray(framed), at);
    this.left -= framed;
    return this.left > 0 ? [out, PAD_FRAME] : [out];
  }
}

export interface PadSender {
  /** Send `chunk` (framed while the start lasts), its padding frame to follow a turn later. */
  write(chunk: Uint8Array): void;
  /** A padding frame alone, a turn later (after a message of the relay's own); nothing once the start is over. */
  pad(): void;
  /** The padding frame still due, now: before an end, after which nothing may be sent. */
  flush(): void;
}

/**
 * A PaddedWriter over `send`, which sends each padding frame one turn of the event loop after its
 * frames (`later`): a runtime that gathers what one callback writes into one segment (Bun's sockets
 * do) would otherwise send both together. A padding frame still due goes before any later send, so
 * the order on the wire is always the writer's.
 */
export function padSender(send: (part: Uint8Array) => void, later: (fn: () => void) => void): PadSender {
  const writer = new PaddedWriter();
  let padDue = false;
  const flush = () => {
    if (!padDue) return;
    padDue = false;
    send(PAD_FRAME);
  };
  const schedule = () => {
    if (padDue) return;
    padDue = true;
    later(flush);
  };
  return {
    write(chunk) {
      flush();
      const [frames, pad] = writer.encode(chunk);
      if (frames) send(frames);
      if (pad) schedule();
    },
    pad() {
      if (!writer.done) schedule();
    },
    flush,
  };
}

/** Takes the frames and padding off what the other side wrote; the session bytes come out. */
export class PaddedReader {
  private left = PADDED_BYTES;
  /** Data bytes still to come in the current frame. */
  private inFrame = 0;
  /** The first byte of a header split across chunks, or -1. */
  private headerHigh = -1;

  /** `inPad`: the first byte of a padding frame was already read (the relay: it came before the pairing). */
  constructor(inPad = false) {
    if (inPad) this.headerHigh = 0;
  }

  /** The session bytes in `chunk` (possibly none); a frame longer than what is framed is a protocol error. */
  decode(chunk: Uint8Array): Uint8Array {
    if (this.left === 0 && this.inFrame === 0) return chunk;
    const parts: Uint8Array[] = [];
    let at = 0;
    while (at < chunk.byteLength) {
      if (this.inFrame > 0) {
        const n = Math.min(this.inFrame, chunk.byteLength - at);
        parts.push(chunk.subarray(at, at + n));
        this.inFrame -= n;
        at += n;
        continue;
      }
      if (this.left === 0) {
        parts.push(chunk.subarray(at));
        break;
      }
      if (this.headerHigh < 0) {
        this.headerHigh = chunk[at++]!;
        continue;
      }
      const length = (this.headerHigh << 8) | chunk[at++]!;
      this.headerHigh = -1;
      if (length > this.left)
        throw new XferError("protocol", `a padded frame of ${length} bytes where ${this.left} were left to frame`);
      this.left -= length;
      this.inFrame = length;
    }
    if (parts.length === 1) return parts[0]!;
    const total = parts.reduce((sum, p) => sum + p.byteLength, 0);
    const out = new Uint8Array(total);
    let to = 0;
    for (const p of parts) {
      out.set(p, to);
      to += p.byteLength;
    }
    return out;
  }
}
