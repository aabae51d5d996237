/**
 * Session framing above every stream transport (docs/PROTOCOL.md, "Frames").
 * A frame is [type u8][length u32 big-endian][payload]. Control frames carry one JSON message;
 * data frames carry file bytes for the file currently open. Frames are bounded so that each fits
 * one sealed record (src/core/secure/records.ts).
 */

export const FRAME_HEADER_BYTES = 5;
export const FrameType = { control: 1, data: 2 } as const;
/** Largest data payload: big enough to amortise per-frame costs, small enough for one AEAD record. */
export const MAX_DATA_PAYLOAD = 1 << 20;
/** Largest control message (a manifest of ~100k files fits). */
export const MAX_CONTROL_PAYLOAD = 64 << 20;
/** A control frame's buffer starts this big and doubles as its bytes arrive. */
const CONTROL_FIRST_BYTES = 64 << 10;

export type DecodedPiece = { kind: "control"; json: string } | { kind: "data"; bytes: Uint8Array };

export class FrameError extends Error {}

const encoder = new TextEncoder();
/** One for every frame (two a file in a tree of small files): a fatal decoder keeps no state between calls. */
const decoder = new TextDecoder("utf-8", { fatal: true });

export function encodeControlFrame(json: string): Uint8Array {
  const frame = allocControlFrame(Buffer.byteLength(json, "utf8"));
  encoder.encodeInto(json, frame.subarray(FRAME_HEADER_BYTES));
  return frame;
}

/** A control frame whose `length` bytes of JSON the caller writes after the header. */
export function allocControlFrame(length: number): Uint8Array {
  if (length > MAX_CONTROL_PAYLOAD) throw new FrameError("control message too large");
  const frame = new Uint8Array(FRAME_HEADER_BYTES + length);
  writeHeader(frame, FrameType.control, length);
  return frame;
}

/**
 * Where a data frame's payload starts in its buffer. The header sits just before it, so the payload
 * is cache-line aligned: the kernel's copies (pread into it, send from it) run at half the CPU cost
 * when the buffer is aligned like the page cache (measured: sender 1.0-1.2 -> 0.55-0.75 CPU-s per GiB).
 */
const PAYLOAD_ALIGN = 64;

/** A data frame whose payload the caller fills in place (saves a copy of every file byte). */
export function allocDataFrame(payloadBytes: number): { frame: Uint8Array; payload: Uint8Array } {
  if (payloadBytes > MAX_DATA_PAYLOAD) throw new FrameError("data payload too large");
  const frame = new Uint8Array(PAYLOAD_ALIGN + payloadBytes).subarray(PAYLOAD_ALIGN - FRAME_HEADER_BYTES);
  writeHeader(frame, FrameType.data, payloadBytes);
  return { frame, payload: frame.subarray(FRAME_HEADER_BYTES) };
}

/** Shrink a frame from allocDataFrame when fewer bytes than requested were filled in. */
export function truncateDataFrame(frame: Uint8Array, payloadBytes: number): Uint8Array {
  writeHeader(frame, FrameType.data, payloadBytes);
  return frame.subarray(0, FRAME_HEADER_BYTES + payloadBytes);
}

function writeHeader(frame: Uint8Array, type: number, length: number): void {
  frame[0] = type;
  new DataView(frame.buffer, frame.byteOffset, 5).setUint32(1, length);
}

/**
 * Incremental decoder: push() transport chunks of any size, get back whole control messages and
 * data bytes as they arrive (data is not buffered up to a frame boundary, and not copied).
 */
export class FrameDecoder {
  private header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerFill = 0;
  private type = 0;
  private remaining = 0;
  private control: Uint8Array | null = null;
  private controlFill = 0;
  private controlSize = 0;

  push(chunk: Uint8Array): DecodedPiece[] {
    const out: DecodedPiece[] = [];
    let pos = 0;
    while (pos < chunk.byteLength) {
      if (this.headerFill < FRAME_HEADER_BYTES) {
        const take = Math.min(FRAME_HEADER_BYTES - this.headerFill, chunk.byteLength - pos);
        this.header.set(chunk.subarray(pos, pos + take), this.headerFill);
        this.headerFill += take;
        pos += take;
        if (this.headerFill === FRAME_HEADER_BYTES) this.startFrame(out);
        continue;
      }
      const take = Math.min(this.remaining, chunk.byteLength - pos);
      const piece = chunk.subarray(pos, pos + take);
      pos += take;
      this.remaining -= take;
      if (this.type === FrameType.data) {
        out.push({ kind: "data", bytes: piece });
      } else {
        this.growControl(this.controlFill + take);
        this.control!.set(piece, this.controlFill);
        this.controlFill += take;
      }
      if (this.remaining === 0) this.finishFrame(out);
    }
    return out;
  }

  /** True when the stream may end here (no frame half-received). */
  get atBoundary(): boolean {
    return this.headerFill === 0;
  }

  private growControl(need: number): void {
    if (need <= this.control!.byteLength) return;
    const bigger = new Uint8Array(Math.min(this.controlSize, Math.max(need, this.control!.byteLength * 2)));
    bigger.set(this.control!.subarray(0, this.controlFill));
    this.control = bigger;
  }

  private startFrame(out: DecodedPiece[]): void {
    this.type = this.header[0]!;
    this.remaining = new DataView(this.header.buffer).getUint32(1);
    if (this.type === FrameType.control) {
      if (this.remaining > MAX_CONTROL_PAYLOAD) throw new FrameError(`control frame of ${this.remaining} bytes`);
      // Memory follows the bytes that arrive, not the length a header claims.
      this.controlSize = this.remaining;
      this.control = new Uint8Array(Math.min(this.remaining, CONTROL_FIRST_BYTES));
      this.controlFill = 0;
    } else if (this.type === FrameType.data) {
      if (this.remaining > MAX_DATA_PAYLOAD) throw new FrameError(`data frame of ${this.remaining} bytes`);
    } else {
      throw new FrameError(`unknown frame type ${this.type}`);
    }
    if (this.remaining === 0) this.finishFrame(out);
  }

  private finishFrame(out: DecodedPiece[]): void {
    if (this.type === FrameType.control) {
      let json: string;
      try {
        json = decoder.decode(this.control!);
      } catch {
        throw new FrameError("control frame is not valid UTF-8");
      }
      out.push({ kind: "control", json });
      this.control = null;
    }
    this.headerFill = 0;
  }
}
