/**
 * QUIC variable-length integers (RFC 9000 §16): the two high bits of the first byte give the length
 * (1, 2, 4 or 8 bytes). Limited to 2^53 − 1 so every value is an exact JS number.
 */

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

/**
 * A cursor over a received datagram; every read checks bounds and throws WireError when short.
 * Reads index the bytes directly: a DataView would need `.buffer`, which is slow on pooled Buffers.
 */
export class Reader {
  at: number;
  constructor(
    readonly bytes: Uint8Array,
    at = 0,
  ) {
    this.at = at;
  }

  get remaining(): number {
    return this.bytes.byteLength - this.at;
  }

  need(n: number): void {
    if (n > this.remaining) throw new WireError("truncated");
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.at++] as number;
  }

  u16(): number {
    this.need(2);
    const b = this.bytes;
    const v = ((b[this.at] as number) << 8) | (b[this.at + 1] as number);
    this.at += 2;
    return v;
  }

  u48(): number {
    this.need(6);
    const b = this.bytes;
    const v = (((b[this.at] as number) << 8) | (b[this.at + 1] as number)) * 2 ** 32 + be32(b, this.at + 2);
    this.at += 6;
    return v;
  }

  varint(): number {
    this.need(1);
    const b = this.bytes;
    const first = b[this.at] as number;
    const len = 1 << (first >> 6);
    this.need(len);
    let v: number;
    if (len === 1) v = first;
    else if (len === 2) v = ((first & 0x3f) << 8) | (b[this.at + 1] as number);
    else if (len === 4) v = be32(b, this.at) & 0x3fffffff;
    else {
      const high = be32(b, this.at) & 0x3fffffff;
      if (high >= 2 ** 21) throw new WireError("varint beyond 2^53");
      v = high * 2 ** 32 + be32(b, this.at + 4);
    }
    this.at += len;
    return v;
  }

  /** A view (not a copy) of the next n bytes. */
  take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
}

function be32(b: Uint8Array, at: number): number {
  return (
    (((b[at] as number) << 24) >>> 0) +
    ((b[at + 1] as number) << 16) +
    ((b[at + 2] as number) << 8) +
    (b[at + 3] as number)
  );
}

export function writeU48(view: DataView, at: number, value: number): number {
  view.setUint16(at, Math.floor(value / 2 ** 32));
  view.setUint32(at + 2, value >>> 0);
  return at + 6;
}

/** A datagram that does not parse. Receivers drop it and count it; it never reaches the state machine. */
export class WireError extends Error {}
