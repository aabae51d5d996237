/**
 * Packet headers of udp-reliable, protocol version 2 (docs/PROTOCOL.md §2). Every datagram starts
 * with the magic byte 0x55 ('U') so a UDP port shared with other transports can route it, then a
 * byte holding version (high nibble) and packet type (low nibble).
 */
import { Reader, WireError, writeU48, writeVarint } from "./varint.ts";

export const MAGIC = 0x55;
/** 2: ACK frames carry the receiver's clock (frames.ts, AckStamp); a version-1 peer is refused by VERSION. */
export const WIRE_VERSION = 2;
export const CID_BYTES = 8;
/** Payload bytes every path must carry (IPv6 minimum MTU 1280 − 48 bytes of IPv6+UDP, rounded down). */
export const MIN_DATAGRAM = 1200;
/** Largest datagram a peer may announce: Ethernet MTU 1500 − 28 bytes of IPv4+UDP. */
export const MAX_DATAGRAM = 1472;
export const COOKIE_BYTES = 6 + 16;

export const PACKET = { syn: 1, synAck: 2, echo: 3, data: 4, reset: 5 } as const;
/**
 * Version negotiation: `0x55 0x0F`, the 8 bytes that follow the header of the SYN it answers (every
 * version's SYN starts with the client CID there), then one byte per supported version.
 * Version-independent.
 */
export const VERSION_NEGOTIATION = 0x0f;

/** What each side declares in the handshake. */
export interface TransportParams {
  /** Largest datagram this side accepts (bytes). */
  maxDatagram: number;
  /** Initial flow-control credit: stream bytes the peer may send before any MAX_DATA. */
  initialMaxData: number;
  /** This side closes a connection silent for this long (ms); the effective value is the smaller one. */
  idleTimeoutMs: number;
}

export interface SynPacket {
  type: "syn";
  clientCid: Uint8Array;
  params: TransportParams;
}
export interface SynAckPacket {
  type: "syn-ack";
  clientCid: Uint8Array;
  serverCid: Uint8Array;
  cookie: Uint8Array;
  params: TransportParams;
}
export interface EchoPacket {
  type: "echo";
  serverCid: Uint8Array;
  clientCid: Uint8Array;
  pn: number;
  cookie: Uint8Array;
  params: TransportParams;
  /** Frames after the header (the echo is ack-eliciting: it carries a PING). */
  payload: Reader;
}
export interface DataPacket {
  type: "data";
  dcid: Uint8Array;
  pn: number;
  payload: Reader;
}
export interface ResetPacket {
  type: "reset";
  /** The connection ID the peer was sending to, which this side no longer knows. */
  cid: Uint8Array;
}
export interface VersionPacket {
  type: "version";
  /** Echo of the client CID of the SYN this answers: off-path spoofers cannot guess it. */
  clientCid: Uint8Array;
  versions: number[];
}
export type Packet = SynPacket | SynAckPacket | EchoPacket | DataPacket | ResetPacket | VersionPacket;

/** Cheap test used by the shared UDP port to route datagrams without parsing them. */
export function isOurs(datagram: Uint8Array): boolean {
  return datagram.byteLength >= 2 && datagram[0] === MAGIC;
}

export function versionOf(datagram: Uint8Array): number {
  return (datagram[1] ?? 0) >> 4;
}

/** Parses the header of a datagram; frames stay unparsed in `payload`. Throws WireError. */
export function readPacket(datagram: Uint8Array): Packet {
  const r = new Reader(datagram);
  if (r.u8() !== MAGIC) throw new WireError("not a udp-reliable datagram");
  const vt = r.u8();
  if (vt === VERSION_NEGOTIATION)
    return { type: "version", clientCid: r.take(CID_BYTES), versions: [...r.take(Math.min(r.remaining, 16))] };
  if (vt >> 4 !== WIRE_VERSION) throw new WireError(`unsupported version ${vt >> 4}`);
  switch (vt & 0x0f) {
    case PACKET.data:
      return { type: "data", dcid: r.take(CID_BYTES), pn: r.u48(), payload: r };
    case PACKET.syn:
      if (datagram.byteLength < MIN_DATAGRAM) throw new WireError("SYN shorter than the minimum datagram");
      return { type: "syn", clientCid: r.take(CID_BYTES), params: readParams(r) };
    case PACKET.synAck:
      return {
        type: "syn-ack",
        clientCid: r.take(CID_BYTES),
        serverCid: r.take(CID_BYTES),
        cookie: r.take(COOKIE_BYTES),
        params: readParams(r),
      };
    case PACKET.echo:
      return {
        type: "echo",
        serverCid: r.take(CID_BYTES),
        clientCid: r.take(CID_BYTES),
        pn: r.u48(),
        cookie: r.take(COOKIE_BYTES),
        params: readParams(r),
        payload: r,
      };
    case PACKET.reset:
      return { type: "reset", cid: r.take(CID_BYTES) };
    default:
      throw new WireError(`unknown packet type ${vt & 0x0f}`);
  }
}

function readParams(r: Reader): TransportParams {
  const maxDatagram = r.u16();
  const initialMaxData = r.varint();
  const idleTimeoutMs = r.varint();
  if (maxDatagram < MIN_DATAGRAM || maxDatagram > 65527) throw new WireError(`bad max datagram ${maxDatagram}`);
  return { maxDatagram, initialMaxData, idleTimeoutMs };
}

/** Fixed-size writer over a fresh datagram buffer. */
export class PacketWriter {
  readonly view: DataView;
  at = 0;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get room(): number {
    return this.bytes.byteLength - this.at;
  }
  u8(v: number): this {
    this.view.setUint8(this.at++, v);
    return this;
  }
  u16(v: number): this {
    this.view.setUint16(this.at, v);
    this.at += 2;
    return this;
  }
  u48(v: number): this {
    this.at = writeU48(this.view, this.at, v);
    return this;
  }
  raw(b: Uint8Array): this {
    this.bytes.set(b, this.at);
    this.at += b.byteLength;
    return this;
  }
  header(type: number): this {
    return this.u8(MAGIC).u8((WIRE_VERSION << 4) | type);
  }
  params(p: TransportParams): this {
    this.u16(p.maxDatagram);
    this.at = writeVarint(this.view, this.at, p.initialMaxData);
    this.at = writeVarint(this.view, this.at, p.idleTimeoutMs);
    return this;
  }
  /** The written prefix. */
  done(): Uint8Array {
    return this.bytes.subarray(0, this.at);
  }
}

export function encodeSyn(clientCid: Uint8Array, params: TransportParams): Uint8Array {
  // Padded to the minimum datagram: proves the path carries it and caps reflection (RFC 9000 §8.1).
  const w = new PacketWriter(new Uint8Array(MIN_DATAGRAM)).header(PACKET.syn).raw(clientCid).params(params);
  w.at = MIN_DATAGRAM;
  return w.done();
}

export function encodeSynAck(
  clientCid: Uint8Array,
  serverCid: Uint8Array,
  cookie: Uint8Array,
  params: TransportParams,
): Uint8Array {
  return new PacketWriter(new Uint8Array(128))
    .header(PACKET.synAck)
    .raw(clientCid)
    .raw(serverCid)
    .raw(cookie)
    .params(params)
    .done();
}

/** The header of an ECHO; the caller appends frames (at least a PING) to the returned writer. */
export function startEcho(
  buffer: Uint8Array,
  serverCid: Uint8Array,
  clientCid: Uint8Array,
  pn: number,
  cookie: Uint8Array,
  params: TransportParams,
): PacketWriter {
  return new PacketWriter(buffer).header(PACKET.echo).raw(serverCid).raw(clientCid).u48(pn).raw(cookie).params(params);
}

export function startData(buffer: Uint8Array, dcid: Uint8Array, pn: number): PacketWriter {
  return new PacketWriter(buffer).header(PACKET.data).raw(dcid).u48(pn);
}

export function encodeReset(cid: Uint8Array): Uint8Array {
  return new PacketWriter(new Uint8Array(2 + CID_BYTES)).header(PACKET.reset).raw(cid).done();
}

/** What a listener answers to a SYN-sized datagram (`syn`) of a version it does not speak. */
export function encodeVersionNegotiation(syn: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + CID_BYTES + 1);
  out.set([MAGIC, VERSION_NEGOTIATION]);
  out.set(syn.subarray(2, 2 + CID_BYTES), 2);
  out[2 + CID_BYTES] = WIRE_VERSION;
  return out;
}
