/**
 * QUIC variable-length integers (RFC 9000 §16): the two high bits of the first byte give the length
 * (1, 2, 4 or 8 bytes). Limited to 2^53 − 1 so every value is an exact JS number.
 */

export const MAX_VARINT = Number.MAX_SAFE_INTEGER;

export function varintSize(value: number): number {
  if (value < 0x40) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x40000000) return 4;
  return 8;
}

/** Writes `value` at `at`; returns the offset after it. The caller ensures there is room. */
export function writeVarint(view: DataView, at: number, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint out of range: ${value}`);
  if (value < 0x40) {
    view.setUint8(at, value);
    return at + 1;
  }
  if (value < 0x4000) {
    view.setUint16(at, value | 0x4000);
    return at + 2;
  }
  if (value < 0x40000000) {
    view.setUint32(at, (value | 0x80000000) >>> 0);
    return at + 4;
  }
  view.setUint32(at, (Math.floor(value / 2 ** 32) | 0xc0000000) >>> 0);
  view.setUint32(at + 4, value >>> 0);
  return at + 8;
}

/** A cursor over a received buffer; every read checks bounds and throws WireError when short. */
export class Reader {
  at: number;
  constructor(
    readonly view: DataView,
    at = 0,
  ) {
    this.at = at;
  }

  get remaining(): number {
    return this.view.byteLength - this.at;
  }

  need(n: number): void {
    if (n > this.remaining) throw new WireError("truncated");
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.at++);
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.at);
    this.at += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.at);
    this.at += 4;
    return v;
  }

  u48(): number {
    this.need(6);
    const v = this.view.getUint16(this.at) * 2 ** 32 + this.view.getUint32(this.at + 2);
    this.at += 6;
    return v;
  }

  varint(): number {
    this.need(1);
    const first = this.view.getUint8(this.at);
    const len = 1 << (first >> 6);
    this.need(len);
    let v: number;
    if (len === 1) v = first;
    else if (len === 2) v = this.view.getUint16(this.at) & 0x3fff;
    else if (len === 4) v = this.view.getUint32(this.at) & 0x3fffffff;
    else {
      const high = this.view.getUint32(this.at) & 0x3fffffff;
      if (high >= 2 ** 21) throw new WireError("varint beyond 2^53");
      v = high * 2 ** 32 + this.view.getUint32(this.at + 4);
    }
    this.at += len;
    return v;
  }

  bytes(n: number): Uint8Array {
    this.need(n);
    const out = new Uint8Array(this.view.buffer, this.view.byteOffset + this.at, n);
    this.at += n;
    return out;
  }
}

export function writeU48(view: DataView, at: number, value: number): number {
  view.setUint16(at, Math.floor(value / 2 ** 32));
  view.setUint32(at + 2, value >>> 0);
  return at + 6;
}

/** A datagram that does not parse. Receivers drop it and count it; it never reaches the state machine. */
export class WireError extends Error {}
