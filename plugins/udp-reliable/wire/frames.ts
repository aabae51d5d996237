/**
 * Frames carried inside DATA packets (docs/PROTOCOL.md §2.3). A packet holds any number of frames;
 * retransmission resends frames (stream ranges) in new packets, never packets.
 */
import { type Reader, varintSize, WireError, writeVarint } from "./varint.ts";

export const FRAME = {
  padding: 0x00,
  ping: 0x01,
  ack: 0x02,
  maxData: 0x03,
  stream: 0x04,
  streamFin: 0x05,
  close: 0x06,
} as const;

/** Inclusive packet-number range [low, high]. */
export interface PnRange {
  low: number;
  high: number;
}

export interface AckFrame {
  type: "ack";
  /** Newest first, disjoint, descending. */
  ranges: PnRange[];
  /** How long the receiver held the largest packet before acknowledging it (µs). */
  delayUs: number;
  stamp: AckStamp;
}

/**
 * The acknowledging side's own clock (wire version 2), so the sender can time each leg of the
 * round trip apart: a packet that skipped a delay on the way out and an ACK that skipped one on
 * the way back both shorten the round trip, but only one leg each (docs/ARQ.md §1).
 */
export interface AckStamp {
  /** When the ACK was written: µs since the acknowledging side's connection began. */
  timeUs: number;
  /** The ack-eliciting packet received most recently (a fill-in below the largest too). */
  latestPn: number;
  /** µs from its arrival to `timeUs`. */
  latestAgeUs: number;
}
export interface StreamFrame {
  type: "stream";
  offset: number;
  data: Uint8Array;
  fin: boolean;
}
export interface MaxDataFrame {
  type: "max-data";
  limit: number;
}
export interface CloseFrame {
  type: "close";
  code: number;
  reason: string;
}
export interface PingFrame {
  type: "ping";
}
export type Frame = AckFrame | StreamFrame | MaxDataFrame | CloseFrame | PingFrame;

/** Close codes (docs/PROTOCOL.md §2.6). */
export const CLOSE_CODE = {
  /**
   * Sent by a listener for a connection it closed cleanly (both directions done): whatever the
   * peer still retransmits had arrived. Not an error.
   */
  finished: 0,
  /** destroy() by the application. */
  aborted: 1,
  /** The peer broke the protocol (flow-control violation, bad frame). */
  protocol: 2,
  idle: 3,
} as const;

const MAX_REASON = 200;
/** An ACK's clock wraps nothing: 2^53 − 1 µs is 285 years. */
const MAX_TIME_US = Number.MAX_SAFE_INTEGER;

export function streamFrameOverhead(offset: number, length: number): number {
  return 1 + varintSize(offset) + varintSize(length);
}

/** Writes a STREAM frame's header; the caller copies `length` stream bytes right after it. */
export function writeStreamHeader(view: DataView, at: number, offset: number, length: number, fin: boolean): number {
  view.setUint8(at++, fin ? FRAME.streamFin : FRAME.stream);
  at = writeVarint(view, at, offset);
  return writeVarint(view, at, length);
}

/**
 * Writes as many ranges (newest first) as fit in `room` bytes, at most `maxRanges`; returns the
 * offset after the frame. Old ranges fall off the end: the sender has long declared those packets
 * lost or acknowledged.
 */
export function writeAckFrame(
  view: DataView,
  at: number,
  ranges: readonly PnRange[],
  delayUs: number,
  stamp: AckStamp,
  room: number,
  maxRanges = Number.POSITIVE_INFINITY,
): number {
  const first = ranges[0];
  if (!first) throw new RangeError("an ACK needs at least one range");
  const start = at;
  const end = at + room;
  const delay = Math.min(Math.max(0, Math.round(delayUs)), 0x3fffffff);
  const time = Math.min(Math.max(0, Math.round(stamp.timeUs)), MAX_TIME_US);
  const age = Math.min(Math.max(0, Math.round(stamp.latestAgeUs)), time);
  const latestOffset = Math.min(Math.max(0, first.high - stamp.latestPn), first.high);
  const stampSize = varintSize(time) + varintSize(latestOffset) + varintSize(age);
  // Count how many ranges fit before writing, since the count precedes them.
  let size = 1 + varintSize(first.high) + varintSize(delay) + stampSize + varintSize(first.high - first.low);
  let count = 0;
  const available = Math.min(ranges.length, maxRanges);
  for (let i = 1; i < available; i++) {
    const prev = ranges[i - 1] as PnRange;
    const r = ranges[i] as PnRange;
    const extra = varintSize(prev.low - r.high - 2) + varintSize(r.high - r.low);
    if (start + size + varintSize(count + 1) + extra > end) break;
    size += extra;
    count++;
  }
  view.setUint8(at++, FRAME.ack);
  at = writeVarint(view, at, first.high);
  at = writeVarint(view, at, delay);
  at = writeVarint(view, at, time);
  at = writeVarint(view, at, latestOffset);
  at = writeVarint(view, at, age);
  at = writeVarint(view, at, count);
  at = writeVarint(view, at, first.high - first.low);
  for (let i = 1; i <= count; i++) {
    const prev = ranges[i - 1] as PnRange;
    const r = ranges[i] as PnRange;
    at = writeVarint(view, at, prev.low - r.high - 2);
    at = writeVarint(view, at, r.high - r.low);
  }
  return at;
}

export function writeMaxDataFrame(view: DataView, at: number, limit: number): number {
  view.setUint8(at++, FRAME.maxData);
  return writeVarint(view, at, limit);
}

export function writeCloseFrame(view: DataView, at: number, code: number, reason: string): number {
  const text = new TextEncoder().encode(reason.slice(0, MAX_REASON));
  view.setUint8(at++, FRAME.close);
  at = writeVarint(view, at, code);
  at = writeVarint(view, at, text.byteLength);
  new Uint8Array(view.buffer, view.byteOffset + at, text.byteLength).set(text);
  return at + text.byteLength;
}

/** Parses every frame in a DATA packet's payload; throws WireError on anything malformed. */
export function readFrames(r: Reader): Frame[] {
  const frames: Frame[] = [];
  while (r.remaining > 0) {
    const type = r.u8();
    switch (type) {
      case FRAME.padding:
        break;
      case FRAME.ping:
        frames.push({ type: "ping" });
        break;
      case FRAME.ack:
        frames.push(readAck(r));
        break;
      case FRAME.maxData:
        frames.push({ type: "max-data", limit: r.varint() });
        break;
      case FRAME.stream:
      case FRAME.streamFin: {
        const offset = r.varint();
        const length = r.varint();
        frames.push({ type: "stream", offset, data: r.take(length), fin: type === FRAME.streamFin });
        break;
      }
      case FRAME.close: {
        const code = r.varint();
        const length = r.varint();
        if (length > MAX_REASON * 4) throw new WireError("close reason too long");
        frames.push({ type: "close", code, reason: new TextDecoder().decode(r.take(length)) });
        break;
      }
      default:
        throw new WireError(`unknown frame type ${type}`);
    }
  }
  return frames;
}

function readAck(r: Reader): AckFrame {
  const largest = r.varint();
  const delayUs = r.varint();
  const timeUs = r.varint();
  const latestOffset = r.varint();
  const latestAgeUs = r.varint();
  if (latestOffset > largest) throw new WireError("ACK's latest packet below zero");
  if (latestAgeUs > timeUs) throw new WireError("ACK's latest packet arrived before its connection began");
  const count = r.varint();
  // Each further range takes at least two bytes: a count beyond that is a lie.
  if (count > r.remaining / 2) throw new WireError("ACK range count exceeds the packet");
  let high = largest;
  let low = high - r.varint();
  if (low < 0) throw new WireError("ACK range below zero");
  const ranges: PnRange[] = [{ low, high }];
  for (let i = 0; i < count; i++) {
    high = low - r.varint() - 2;
    low = high - r.varint();
    if (high < 0 || low < 0) throw new WireError("ACK range below zero");
    ranges.push({ low, high });
  }
  return { type: "ack", ranges, delayUs, stamp: { timeUs, latestPn: largest - latestOffset, latestAgeUs } };
}
