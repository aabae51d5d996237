/**
 * The session over an unreliable datagram transport (docs/PROTOCOL.md §3). Every data datagram can be
 * placed on its own: session, sequence number, file, offset, length and a CRC-32 of the payload.
 * Control datagrams carry one JSON message each and are repeated until answered.
 */
import { crc32 } from "node:zlib";

export const KIND = { data: 1, control: 2, parity: 3 } as const;
/** kind + session + block + class + length + crc */
export const PARITY_HEADER = 1 + 4 + 4 + 1 + 2 + 4;
/** kind + session + seq + file + offset(48) + length + crc */
export const DATA_HEADER = 1 + 4 + 4 + 4 + 6 + 2 + 4;
/** kind + session + message id + fragment index + fragment count */
export const CONTROL_HEADER = 1 + 4 + 4 + 2 + 2;

export interface DataDatagram {
  kind: "data";
  session: number;
  seq: number;
  file: number;
  offset: number;
  payload: Uint8Array;
  /** False when the payload does not match its CRC (corrupted on the way). */
  intact: boolean;
}
/** One fragment of a control message (a message larger than a datagram is split). */
export interface ControlDatagram {
  kind: "control";
  session: number;
  message: number;
  index: number;
  count: number;
  bytes: Uint8Array;
}
/** An FEC parity unit (see fec.ts) for one class of one block. */
export interface ParityDatagram {
  kind: "parity";
  session: number;
  block: number;
  cls: number;
  unit: Uint8Array;
  intact: boolean;
}
export type SessionDatagram = DataDatagram | ControlDatagram | ParityDatagram;

export function encodeParity(session: number, block: number, cls: number, unit: Uint8Array): Uint8Array {
  const out = new Uint8Array(PARITY_HEADER + unit.byteLength);
  const v = new DataView(out.buffer);
  v.setUint8(0, KIND.parity);
  v.setUint32(1, session);
  v.setUint32(5, block);
  v.setUint8(9, cls);
  v.setUint16(10, unit.byteLength);
  v.setUint32(12, crc32(unit));
  out.set(unit, PARITY_HEADER);
  return out;
}

export function encodeData(
  session: number,
  seq: number,
  file: number,
  offset: number,
  payload: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(DATA_HEADER + payload.byteLength);
  const v = new DataView(out.buffer);
  v.setUint8(0, KIND.data);
  v.setUint32(1, session);
  v.setUint32(5, seq);
  v.setUint32(9, file);
  v.setUint16(13, Math.floor(offset / 2 ** 32));
  v.setUint32(15, offset >>> 0);
  v.setUint16(19, payload.byteLength);
  v.setUint32(21, crc32(payload));
  out.set(payload, DATA_HEADER);
  return out;
}

/** A control message as datagrams of at most `maxBytes` each (one, unless the JSON is long). */
export function encodeControl(session: number, message: object, maxBytes: number): Uint8Array[] {
  const json = new TextEncoder().encode(JSON.stringify(message));
  const room = maxBytes - CONTROL_HEADER;
  const count = Math.max(1, Math.ceil(json.byteLength / room));
  if (count > 0xffff) throw new RangeError("control message too large");
  const id = (Math.random() * 2 ** 32) >>> 0;
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const part = json.subarray(i * room, (i + 1) * room);
    const d = new Uint8Array(CONTROL_HEADER + part.byteLength);
    const v = new DataView(d.buffer);
    v.setUint8(0, KIND.control);
    v.setUint32(1, session);
    v.setUint32(5, id);
    v.setUint16(9, i);
    v.setUint16(11, count);
    d.set(part, CONTROL_HEADER);
    out.push(d);
  }
  return out;
}

/** Parses a datagram; null when it is not one of ours or is cut short (the caller counts it). */
export function decode(d: Uint8Array): SessionDatagram | null {
  if (d.byteLength < 5) return null;
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const kind = v.getUint8(0);
  const session = v.getUint32(1);
  if (kind === KIND.control) {
    if (d.byteLength < CONTROL_HEADER) return null;
    const index = v.getUint16(9);
    const count = v.getUint16(11);
    if (count === 0 || index >= count) return null;
    return { kind: "control", session, message: v.getUint32(5), index, count, bytes: d.subarray(CONTROL_HEADER) };
  }
  if (kind === KIND.parity) {
    if (d.byteLength < PARITY_HEADER || d.byteLength !== PARITY_HEADER + v.getUint16(10)) return null;
    const unit = d.subarray(PARITY_HEADER);
    return {
      kind: "parity",
      session,
      block: v.getUint32(5),
      cls: v.getUint8(9),
      unit,
      intact: crc32(unit) === v.getUint32(12),
    };
  }
  if (kind !== KIND.data || d.byteLength < DATA_HEADER) return null;
  const length = v.getUint16(19);
  if (d.byteLength !== DATA_HEADER + length) return null;
  const payload = d.subarray(DATA_HEADER);
  return {
    kind: "data",
    session,
    seq: v.getUint32(5),
    file: v.getUint32(9),
    offset: v.getUint16(13) * 2 ** 32 + v.getUint32(15),
    payload,
    intact: crc32(payload) === v.getUint32(21),
  };
}
