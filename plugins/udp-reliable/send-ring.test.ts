import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { SEGMENT_BYTES, SendRing } from "./send-ring.ts";

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const SEG = 1000;
/** The bound send-ring.ts promises: the most bytes ever held, in segments, plus one for alignment. */
const bound = (peakHeld: number, seg = SEG) => (Math.ceil(peakHeld / seg) + 1) * seg;

function readBack(ring: SendRing, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  ring.read(offset, length, out);
  return out;
}

describe("SendRing", () => {
  test("a write and a read across segment seams keep every byte at its offset", () => {
    const ring = new SendRing(SEG);
    ring.append(bytes(2500, 1)); // segments 0, 1, 2
    ring.append(bytes(700, 2)); // 2500..3200: into segment 2 and onto 3
    const all = new Uint8Array([...bytes(2500, 1), ...bytes(700, 2)]);
    expect(readBack(ring, 900, 1300)).toEqual(all.subarray(900, 2200));
    expect(readBack(ring, 2400, 800)).toEqual(all.subarray(2400, 3200));
    expect(ring.capacity).toBe(4 * SEG);
  });

  test("released segments are reused by later writes, not allocated again", () => {
    const ring = new SendRing(SEG);
    ring.append(bytes(3000, 1));
    ring.release(2000); // segments 0 and 1 go spare
    expect(ring.capacity).toBe(3 * SEG);
    ring.append(bytes(2000, 2)); // 3000..5000 lands in the two spare segments
    expect(ring.capacity).toBe(3 * SEG);
    expect(readBack(ring, 2000, 1000)).toEqual(bytes(3000, 1).subarray(2000));
    expect(readBack(ring, 3000, 2000)).toEqual(bytes(2000, 2));
  });

  test("releasing everything at a segment boundary, then writing, starts cleanly in a fresh segment", () => {
    const ring = new SendRing(SEG);
    ring.append(bytes(2000, 1));
    ring.release(2000);
    ring.append(bytes(10, 2));
    expect(readBack(ring, 2000, 10)).toEqual(bytes(10, 2));
    expect(ring.capacity).toBe(2 * SEG);
  });

  test("copies on append: the caller's buffer may be reused at once", () => {
    const ring = new SendRing();
    const buf = bytes(100);
    ring.append(buf);
    buf.fill(0);
    expect(readBack(ring, 0, 100)).toEqual(bytes(100));
  });

  test("a range released or not yet written is refused, not read as other bytes", () => {
    const ring = new SendRing(SEG);
    ring.append(bytes(3000));
    ring.release(1500);
    expect(() => readBack(ring, 900, 700)).toThrow(RangeError);
    expect(() => readBack(ring, 2900, 200)).toThrow(RangeError);
    expect(readBack(ring, 1500, 1500)).toEqual(bytes(3000).subarray(1500));
  });

  test("memory follows the bytes held, not the bytes written: 1 GiB through an 8 MiB window", () => {
    const ring = new SendRing();
    const write = bytes(256 * 1024 + 77); // records are not segment-aligned
    const window = 8 * 1024 * 1024;
    let offset = 0;
    while (offset < 1024 ** 3) {
      ring.append(write);
      offset += write.byteLength;
      ring.release(offset - window);
    }
    expect(ring.capacity).toBeLessThanOrEqual(bound(window + write.byteLength, SEGMENT_BYTES));
  });

  test("property: any interleaving of writes and releases reads back what was written, within the bound", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.double({ min: 0, max: 1, noNaN: true })), {
          minLength: 1,
          maxLength: 40,
        }),
        (steps) => {
          const ring = new SendRing(SEG);
          const source: number[] = [];
          let floor = 0;
          let peak = 0;
          steps.forEach(([n, release], i) => {
            const b = bytes(n, i);
            ring.append(b);
            source.push(...b);
            const held = source.length - floor;
            peak = Math.max(peak, held);
            expect(Buffer.from(readBack(ring, floor, held)).equals(Buffer.from(source.slice(floor)))).toBe(true);
            floor += Math.floor(held * release);
            ring.release(floor);
          });
          expect(ring.capacity).toBeLessThanOrEqual(bound(peak));
        },
      ),
      { numRuns: 300, seed: 16 },
    );
  });
});
