import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { SendRing } from "./send-ring.ts";

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const KiB = 1024;

function readBack(ring: SendRing, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  ring.read(offset, length, out);
  return out;
}

describe("SendRing", () => {
  test("a write that wraps past the end of the buffer reads back whole, and across the seam", () => {
    const ring = new SendRing(64 * KiB);
    expect(ring.capacity).toBe(64 * KiB);
    ring.append(bytes(60 * KiB, 1));
    ring.release(50 * KiB);
    const wrapped = bytes(20 * KiB, 2); // 60..80 KiB: 4 KiB at the end, 16 KiB at the start
    ring.append(wrapped);
    expect(ring.capacity).toBe(64 * KiB); // 30 KiB held: no growth
    expect(readBack(ring, 60 * KiB, 20 * KiB)).toEqual(wrapped);
    expect(readBack(ring, 62 * KiB, 4 * KiB)).toEqual(wrapped.subarray(2 * KiB, 6 * KiB));
    expect(readBack(ring, 55 * KiB, 5 * KiB)).toEqual(bytes(60 * KiB, 1).subarray(55 * KiB));
  });

  test("growing while wrapped keeps every held byte at its offset", () => {
    const ring = new SendRing(64 * KiB);
    ring.append(bytes(60 * KiB, 1));
    ring.release(40 * KiB);
    ring.append(bytes(30 * KiB, 2)); // wraps: held 40..90 KiB
    ring.append(bytes(50 * KiB, 3)); // 100 KiB held: grows
    expect(ring.capacity).toBeGreaterThanOrEqual(100 * KiB);
    expect(readBack(ring, 40 * KiB, 20 * KiB)).toEqual(bytes(60 * KiB, 1).subarray(40 * KiB));
    expect(readBack(ring, 60 * KiB, 30 * KiB)).toEqual(bytes(30 * KiB, 2));
    expect(readBack(ring, 90 * KiB, 50 * KiB)).toEqual(bytes(50 * KiB, 3));
  });

  test("copies on append: the caller's buffer may be reused at once", () => {
    const ring = new SendRing();
    const buf = bytes(100);
    ring.append(buf);
    buf.fill(0);
    expect(readBack(ring, 0, 100)).toEqual(bytes(100));
  });

  test("a range released or not yet written is refused, not read as other bytes", () => {
    const ring = new SendRing();
    ring.append(bytes(100));
    ring.release(40);
    expect(() => readBack(ring, 30, 20)).toThrow(RangeError);
    expect(() => readBack(ring, 90, 20)).toThrow(RangeError);
    expect(readBack(ring, 40, 60)).toEqual(bytes(100).subarray(40));
  });

  test("memory follows the bytes held, not the bytes written: 1 GiB through a 1 MiB window", () => {
    const ring = new SendRing();
    const write = bytes(256 * KiB);
    for (let offset = 0; offset < 1024 ** 3; offset += write.byteLength) {
      ring.append(write);
      ring.release(offset + write.byteLength - 1024 * KiB);
    }
    // Peak held: 1 MiB plus one write; 1.25× headroom, rounded up to 64 KiB.
    expect(ring.capacity).toBeLessThanOrEqual(Math.ceil((1.25 * (1280 * KiB)) / (64 * KiB)) * 64 * KiB);
  });

  test("property: any interleaving of writes and releases reads back exactly what was written", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40_000 }), fc.double({ min: 0, max: 1, noNaN: true })), {
          minLength: 1,
          maxLength: 40,
        }),
        (steps) => {
          const ring = new SendRing();
          const source: number[] = [];
          let floor = 0;
          let peak = 0;
          steps.forEach(([n, release], i) => {
            const b = bytes(n, i);
            ring.append(b);
            source.push(...b);
            peak = Math.max(peak, source.length - floor);
            // Every held byte reads back, across the seam or not.
            const held = source.length - floor;
            expect(Buffer.from(readBack(ring, floor, held)).equals(Buffer.from(source.slice(floor)))).toBe(true);
            floor += Math.floor(held * release);
            ring.release(floor);
          });
          expect(ring.capacity).toBeLessThanOrEqual(
            Math.max(64 * KiB, Math.ceil((1.25 * peak) / (64 * KiB)) * 64 * KiB),
          );
        },
      ),
      { numRuns: 200, seed: 16 },
    );
  });
});
