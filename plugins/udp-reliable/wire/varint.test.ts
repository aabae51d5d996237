import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { Reader, varintSize, WireError, writeU48, writeVarint } from "./varint.ts";

function encode(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  const end = writeVarint(new DataView(bytes.buffer), 0, value);
  return bytes.subarray(0, end);
}

/** Any varint value, weighted so each of the four encoded sizes (and their edges) shows up often. */
const anyVarint = fc.oneof(
  fc.integer({ min: 0, max: 0x3f }),
  fc.integer({ min: 0x40, max: 0x3fff }),
  fc.integer({ min: 0x4000, max: 0x3fffffff }),
  fc.maxSafeNat().filter((v) => v >= 0x40000000),
  fc.constantFrom(0, 0x3f, 0x40, 0x3fff, 0x4000, 0x3fffffff, 0x40000000, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1),
);

describe("varint", () => {
  test("boundaries use the RFC 9000 sizes and encodings", () => {
    const cases: [number, number[]][] = [
      [0, [0x00]],
      [37, [0x25]],
      [0x3f, [0x3f]],
      [0x40, [0x40, 0x40]],
      [15293, [0x7b, 0xbd]],
      [0x3fff, [0x7f, 0xff]],
      [0x4000, [0x80, 0x00, 0x40, 0x00]],
      [494878333, [0x9d, 0x7f, 0x3e, 0x7d]],
      [0x3fffffff, [0xbf, 0xff, 0xff, 0xff]],
      [0x40000000, [0xc0, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00]],
      [2 ** 32, [0xc0, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00]],
      [2 ** 53 - 1, [0xc0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
    ];
    for (const [value, bytes] of cases) {
      expect([...encode(value)]).toEqual(bytes);
      expect(varintSize(value)).toBe(bytes.length);
      const r = new Reader(new Uint8Array(bytes));
      expect(r.varint()).toBe(value);
      expect(r.at).toBe(bytes.length);
      expect(r.remaining).toBe(0);
    }
  });

  test("non-minimal encodings are accepted", () => {
    expect(new Reader(new Uint8Array([0x40, 0x25])).varint()).toBe(37);
    expect(new Reader(new Uint8Array([0x80, 0, 0, 0x25])).varint()).toBe(37);
    expect(new Reader(new Uint8Array([0xc0, 0, 0, 0, 0, 0, 0, 0x25])).varint()).toBe(37);
  });

  test("round-trips every value at the size varintSize predicts", () => {
    fc.assert(
      fc.property(anyVarint, fc.nat({ max: 16 }), (value, pad) => {
        const bytes = new Uint8Array(pad + 8 + 3).fill(0xaa);
        const end = writeVarint(new DataView(bytes.buffer), pad, value);
        expect(end - pad).toBe(varintSize(value));
        const r = new Reader(bytes, pad);
        expect(r.varint()).toBe(value);
        expect(r.at).toBe(end);
        // Bytes after the varint were not touched.
        expect([...bytes.subarray(end)].every((b) => b === 0xaa)).toBe(true);
      }),
    );
  });

  test("a sequence of varints round-trips", () => {
    fc.assert(
      fc.property(fc.array(anyVarint, { maxLength: 20 }), (values) => {
        const bytes = new Uint8Array(values.length * 8);
        const view = new DataView(bytes.buffer);
        let at = 0;
        for (const v of values) at = writeVarint(view, at, v);
        const r = new Reader(bytes.subarray(0, at));
        expect(values.map(() => r.varint())).toEqual(values);
        expect(r.remaining).toBe(0);
      }),
    );
  });

  test("writeVarint refuses values that are negative, fractional or beyond 2^53", () => {
    const view = new DataView(new ArrayBuffer(8));
    for (const v of [-1, 0.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => writeVarint(view, 0, v)).toThrow(RangeError);
  });

  test("an 8-byte varint at or beyond 2^53 is a WireError", () => {
    const r = new Reader(new Uint8Array([0xc0, 0x20, 0, 0, 0, 0, 0, 0]));
    expect(() => r.varint()).toThrow(WireError);
    expect(() => new Reader(new Uint8Array(8).fill(0xff)).varint()).toThrow(WireError);
    // RFC 9000 appendix A.1's 8-byte example (151288809941952652) exceeds 2^53: refused, not rounded.
    const rfc = new Reader(new Uint8Array([0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c]));
    expect(() => rfc.varint()).toThrow(WireError);
    expect(rfc.at).toBe(0);
  });

  test("every truncation throws WireError without moving the cursor", () => {
    fc.assert(
      fc.property(anyVarint, (value) => {
        const full = encode(value);
        for (let n = 0; n < full.byteLength; n++) {
          // A subarray of a longer buffer: the reader must respect its end, not the buffer's.
          const backing = new Uint8Array(16).fill(0xff);
          backing.set(full.subarray(0, n));
          const r = new Reader(backing.subarray(0, n));
          expect(() => r.varint()).toThrow(WireError);
          expect(r.at).toBe(0);
        }
      }),
    );
  });
});

describe("Reader", () => {
  test("fixed-size reads are big-endian and bounds-checked", () => {
    const r = new Reader(new Uint8Array([0x12, 0x34, 0x56, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0xaa, 0xbb]));
    expect(r.u8()).toBe(0x12);
    expect(r.u16()).toBe(0x3456);
    expect(r.u48()).toBe(0x010203040506);
    expect(r.remaining).toBe(2);
    expect(() => r.u48()).toThrow(WireError);
    expect(() => r.take(3)).toThrow(WireError);
    expect(r.at).toBe(9);
    expect([...r.take(2)]).toEqual([0xaa, 0xbb]);
    expect(() => r.u8()).toThrow(WireError);
    expect(() => r.u16()).toThrow(WireError);
    expect(r.take(0).byteLength).toBe(0);
  });

  test("take returns a view, not a copy", () => {
    const bytes = new Uint8Array([1, 2, 3, 4]);
    const v = new Reader(bytes, 1).take(2);
    bytes[1] = 99;
    expect([...v]).toEqual([99, 3]);
  });

  test("u48 round-trips through writeU48", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (value) => {
        const bytes = new Uint8Array(6);
        expect(writeU48(new DataView(bytes.buffer), 0, value)).toBe(6);
        expect(new Reader(bytes).u48()).toBe(value);
        expect(() => new Reader(bytes.subarray(0, 5)).u48()).toThrow(WireError);
      }),
    );
  });

  test("random reads over random bytes throw only WireError and never pass the end", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 40 }),
        fc.array(fc.constantFrom("u8", "u16", "u48", "varint", "take"), { maxLength: 30 }),
        fc.nat({ max: 10 }),
        (bytes, ops, n) => {
          const backing = new Uint8Array(bytes.byteLength + 16).fill(0xc0);
          backing.set(bytes);
          const r = new Reader(backing.subarray(0, bytes.byteLength));
          for (const op of ops) {
            const before = r.at;
            try {
              if (op === "take") r.take(n);
              else r[op]();
            } catch (err) {
              expect(err).toBeInstanceOf(WireError);
              expect(r.at).toBe(before);
            }
            expect(r.at).toBeLessThanOrEqual(bytes.byteLength);
            expect(r.remaining).toBeGreaterThanOrEqual(0);
          }
        },
      ),
    );
  });
});
