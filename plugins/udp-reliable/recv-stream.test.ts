import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { RecvStream } from "./recv-stream.ts";

function readAll(s: RecvStream): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let p = s.read(); p; p = s.read()) parts.push(p);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

interface Seg {
  offset: number;
  length: number;
}

/**
 * A stream, and segments that cover it completely: a random partition plus random extra
 * (overlapping, duplicate) pieces, in random order.
 */
const scenario = fc
  .record({
    size: fc.integer({ min: 1, max: 4000 }),
    cuts: fc.array(fc.nat(), { maxLength: 30 }),
    extra: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 600 })), { maxLength: 30 }),
    seed: fc.nat(),
    readEvery: fc.integer({ min: 1, max: 10 }),
  })
  .chain(({ size, cuts, extra, seed, readEvery }) => {
    const points = [...new Set([0, size, ...cuts.map((c) => c % size)])].sort((a, b) => a - b);
    const segs: Seg[] = [];
    for (let i = 1; i < points.length; i++)
      segs.push({ offset: points[i - 1] as number, length: (points[i] as number) - (points[i - 1] as number) });
    for (const [o, l] of extra) {
      const offset = o % size;
      segs.push({ offset, length: Math.min(l, size - offset) });
    }
    return fc
      .shuffledSubarray(segs, { minLength: segs.length, maxLength: segs.length })
      .map((order) => ({ size, segs: order, seed, readEvery }));
  });

function bytesOf(size: number, seed: number): Uint8Array<ArrayBuffer> {
  const data = new Uint8Array(size);
  let x = seed | 1;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  return data;
}

describe("reassembly", () => {
  test("random segments in random order with duplicates and overlaps read back as the original", () => {
    fc.assert(
      fc.property(scenario, ({ size, segs, seed, readEvery }) => {
        const data = bytesOf(size, seed);
        const s = new RecvStream();
        const got: Uint8Array[] = [];
        let pushed = 0;
        segs.forEach((seg, i) => {
          // Each segment is a view into its own "datagram", as the transport delivers them.
          const datagram = new Uint8Array(seg.length + 40);
          datagram.set(data.subarray(seg.offset, seg.offset + seg.length), 20);
          const view = datagram.subarray(20, 20 + seg.length);
          s.push(seg.offset, view, seg.offset + seg.length === size);
          pushed += seg.length;
          expect(s.highest).toBeLessThanOrEqual(size);
          expect(s.received).toBeGreaterThanOrEqual(s.consumed);
          if (i % readEvery === 0) got.push(readAll(s));
        });
        got.push(readAll(s));
        const all = new Uint8Array(size);
        let at = 0;
        for (const g of got) {
          all.set(g, at);
          at += g.byteLength;
        }
        expect(at).toBe(size);
        expect(all).toEqual(data);
        expect(s.received).toBe(size);
        expect(s.consumed).toBe(size);
        expect(s.finOffset).toBe(size);
        expect(s.complete).toBe(true);
        expect(s.ended).toBe(true);
        expect(s.pendingBytes).toBe(0);
        expect(s.readable).toBe(false);
        expect(s.read()).toBeNull();
        // Every byte pushed twice is counted as a duplicate at most once.
        expect(s.duplicateBytes).toBeLessThanOrEqual(pushed - size);
      }),
    );
  });

  test("in-order delivery hands bytes over as soon as they are contiguous", () => {
    const s = new RecvStream();
    s.push(0, Uint8Array.from([1, 2, 3]), false);
    expect(s.readable).toBe(true);
    expect(s.received).toBe(3);
    s.push(5, Uint8Array.from([6, 7]), false);
    expect(s.received).toBe(3);
    expect(s.pendingBytes).toBe(2);
    expect([...(s.read() as Uint8Array)]).toEqual([1, 2, 3]);
    expect(s.read()).toBeNull();
    s.push(3, Uint8Array.from([4, 5]), false);
    expect(s.received).toBe(7);
    expect(s.pendingBytes).toBe(0);
    expect([...(s.read() as Uint8Array)]).toEqual([4, 5, 6, 7]);
    expect(s.consumed).toBe(7);
    expect(s.complete).toBe(false);
  });

  test("duplicates and overlaps are counted exactly for simple cases", () => {
    const s = new RecvStream();
    s.push(0, new Uint8Array(10), false);
    s.push(0, new Uint8Array(10), false); // full duplicate of received data
    expect(s.duplicateBytes).toBe(10);
    s.push(5, new Uint8Array(10), false); // 5 old, 5 new
    expect(s.duplicateBytes).toBe(15);
    expect(s.received).toBe(15);
    s.push(20, new Uint8Array(10), false);
    s.push(25, new Uint8Array(10), false); // overlaps the pending piece by 5
    expect(s.duplicateBytes).toBe(20);
    s.push(18, new Uint8Array(20), false); // covers the pending [20, 35) entirely
    expect(s.duplicateBytes).toBe(35);
    expect(s.pendingBytes).toBe(20);
    expect(s.received).toBe(15);
  });

  test("an in-order piece overlapping held-back data is reassembled correctly", () => {
    const s = new RecvStream();
    s.push(4, Uint8Array.from([4, 5, 6, 7]), false);
    s.push(0, Uint8Array.from([0, 1, 2, 3, 4, 5]), false);
    expect([...readAll(s)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(s.received).toBe(8);
  });

  test("duplicateBytes counts an in-order piece's overlap with held-back data", () => {
    const s = new RecvStream();
    s.push(4, Uint8Array.from([4, 5, 6, 7]), false);
    s.push(0, Uint8Array.from([0, 1, 2, 3, 4, 5]), false);
    expect(s.duplicateBytes).toBe(2);
  });

  test("a small out-of-order piece is copied out of its datagram; a large one is kept as a view", () => {
    const s = new RecvStream();
    const datagram = new Uint8Array(1000).fill(7);
    s.push(100, datagram.subarray(0, 10), false);
    datagram.fill(9);
    s.push(0, new Uint8Array(100), false);
    const out = readAll(s);
    expect([...out.subarray(100)]).toEqual(new Array(10).fill(7));
  });

  test("read() coalesces pieces of any size up to its limit; a lone piece goes up as it is", () => {
    const s = new RecvStream();
    for (let i = 0; i < 4; i++) s.push(i * 100, new Uint8Array(100).fill(i), false);
    const merged = s.read() as Uint8Array;
    expect(merged.byteLength).toBe(400);
    expect(merged[399]).toBe(3);
    // Large datagrams too: 20 of 16 KiB come up as one 256 KiB read and the rest.
    for (let i = 0; i < 20; i++) s.push(400 + i * 16384, new Uint8Array(16384).fill(i), false);
    const first = s.read() as Uint8Array;
    expect(first.byteLength).toBe(256 * 1024);
    expect(first[16 * 16384 - 1]).toBe(15);
    expect(s.read()?.byteLength).toBe(4 * 16384);
    const lone = new Uint8Array(10_000).fill(5);
    s.push(400 + 20 * 16384, lone, false);
    expect(s.read()).toBe(lone);
    expect(s.read()).toBeNull();
  });
});

describe("FIN", () => {
  test("an empty FIN frame after the data completes the stream", () => {
    const s = new RecvStream();
    s.push(0, new Uint8Array(5), false);
    expect(s.complete).toBe(false);
    s.push(5, new Uint8Array(0), true);
    expect(s.finOffset).toBe(5);
    expect(s.complete).toBe(true);
    expect(s.ended).toBe(false);
    readAll(s);
    expect(s.ended).toBe(true);
  });

  test("a FIN arriving before the data it ends waits for the gap", () => {
    const s = new RecvStream();
    s.push(10, new Uint8Array(5), true);
    expect(s.finOffset).toBe(15);
    expect(s.complete).toBe(false);
    s.push(0, new Uint8Array(10), false);
    expect(s.complete).toBe(true);
  });

  test("the same FIN repeated is fine; a FIN at another offset is refused", () => {
    const s = new RecvStream();
    s.push(0, new Uint8Array(10), true);
    s.push(5, new Uint8Array(5), true);
    expect(() => s.push(0, new Uint8Array(12), true)).toThrow("FIN moved");
    expect(() => s.push(0, new Uint8Array(8), true)).toThrow("FIN moved");
    expect(s.finOffset).toBe(10);
  });

  test("data beyond the FIN is refused, data up to it is fine", () => {
    const s = new RecvStream();
    s.push(20, new Uint8Array(0), true);
    expect(() => s.push(15, new Uint8Array(6), false)).toThrow("data beyond FIN");
    expect(() => s.push(20, new Uint8Array(1), false)).toThrow("data beyond FIN");
    s.push(15, new Uint8Array(5), false);
    expect(s.highest).toBe(20);
  });

  test("a FIN below data already seen is refused and leaves no FIN set", () => {
    const s = new RecvStream();
    s.push(50, new Uint8Array(10), false);
    expect(() => s.push(0, new Uint8Array(40), true)).toThrow("FIN below data already received");
    expect(s.finOffset).toBeNull();
    expect(s.received).toBe(0);
  });
});

describe("out-of-order cap", () => {
  test("refuses the 65537th held-back piece, still accepts in-order data and overlaps", () => {
    const s = new RecvStream();
    const one = new Uint8Array(1);
    for (let i = 0; i < 65536; i++) s.push(2 * i + 1, one, false);
    expect(s.pendingBytes).toBe(65536);
    expect(() => s.push(2 * 65536 + 1, one, false)).toThrow("too many out-of-order pieces");
    // A duplicate of a held piece adds no segment.
    s.push(1, one, false);
    // Filling the first hole drains a held piece and makes room again.
    s.push(0, one, false);
    expect(s.received).toBe(2);
    s.push(2 * 65536 + 1, one, false);
    expect(s.pendingBytes).toBe(65536);
  });

  test("a window with room for more real datagrams admits more pieces (1 Gbit/s × 300 ms × 4)", () => {
    const window = 150e6;
    const s = RecvStream.forWindow(window);
    const datagram = new Uint8Array(1440);
    // Every second 1440-byte piece of the window arrives: 52 000 holes' worth, then more.
    const pieces = 70_000;
    for (let i = 0; i < pieces; i++) s.push(1440 * (2 * i + 1), datagram, false);
    expect(s.pendingBytes).toBe(pieces * 1440);
    // The cap still binds tiny pieces: a window's worth of 1-byte pieces is refused.
    const tiny = RecvStream.forWindow(window);
    const cap = Math.ceil(window / 1024);
    const one = new Uint8Array(1);
    for (let i = 0; i < cap; i++) tiny.push(2 * i + 1, one, false);
    expect(() => tiny.push(2 * cap + 1, one, false)).toThrow("too many out-of-order pieces");
  });
});
