/**
 * The session over an unreliable datagram transport (docs/PROTOCOL.md §3). Every data datagram can be
 * placed on its own: session, sequence number, file, offset, length and a CRC-32 of the payload.
 * Control datagrams carry one JSON message each and are repeated until answered.
 */
import { crc32 } from "node:zlib";

export const KIND = { data: 1, control: 2 } as const;
/** kind + session + seq + file + offset(48) + length + crc */
export const DATA_HEADER = 1 + 4 + 4 + 4 + 6 + 2 + 4;
export const CONTROL_HEADER = 1 + 4;

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
export interface ControlDatagram {
  kind: "control";
  session: number;
  json: string;
}
export type SessionDatagram = DataDatagram | ControlDatagram;

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

export function encodeControl(session: number, message: object): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(message));
  const out = new Uint8Array(CONTROL_HEADER + json.byteLength);
  const v = new DataView(out.buffer);
  v.setUint8(0, KIND.control);
  v.setUint32(1, session);
  out.set(json, CONTROL_HEADER);
  return out;
}

/** Parses a datagram; null when it is not one of ours or is cut short (the caller counts it). */
export function decode(d: Uint8Array): SessionDatagram | null {
  if (d.byteLength < CONTROL_HEADER) return null;
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const kind = v.getUint8(0);
  const session = v.getUint32(1);
  if (kind === KIND.control) {
    return {
      kind: "control",
      session,
      json: new TextDecoder("utf-8", { fatal: false }).decode(d.subarray(CONTROL_HEADER)),
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
