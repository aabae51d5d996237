import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { DatagramArena } from "./slab.ts";

const SLAB = 1000;

describe("DatagramArena", () => {
  test("without recycle() a full slab is dropped, not kept: memory is the GC's, as before", () => {
    const arena = new DatagramArena(SLAB);
    const first = arena.allocate(600);
    first.fill(1);
    for (let i = 0; i < 50; i++) arena.allocate(600).fill(2);
    expect(arena.capacity).toBe(SLAB);
    // Datagrams handed out earlier are never overwritten: the holder (a simulated link) may still read them.
    expect(first.every((b) => b === 1)).toBe(true);
  });

  test("after recycle() the same slabs serve the next batches, and none grows past the largest batch", () => {
    const arena = new DatagramArena(SLAB);
    const slabsOf = new Set<ArrayBufferLike>();
    arena.recycle(); // the driver's first full send
    for (let batch = 0; batch < 20; batch++) {
      const n = batch % 5 === 0 ? 7 : 3; // the largest batch: 7 × 400 bytes, two per slab → 4 slabs
      for (let i = 0; i < n; i++) slabsOf.add(arena.allocate(400).buffer);
      arena.recycle();
    }
    expect(slabsOf.size).toBe(4);
    expect(arena.capacity).toBe(4 * SLAB);
  });

  test("datagrams of one batch never overlap, whatever the sizes and shrinks", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.record({ size: fc.integer({ min: 1, max: 1500 }), used: fc.nat() }), { maxLength: 30 }), {
          maxLength: 6,
        }),
        (batches) => {
          const arena = new DatagramArena(SLAB);
          for (const batch of batches) {
            const out: Uint8Array[] = [];
            batch.forEach(({ size, used }, i) => {
              const d = arena.shrinkLast(arena.allocate(size), Math.min(used, size));
              d.fill(i & 0xff);
              out.push(d);
            });
            out.forEach((d, i) => {
              expect(d.every((b) => b === (i & 0xff))).toBe(true);
            });
            arena.recycle();
          }
        },
      ),
    );
  });

  test("a datagram larger than a slab gets a slab of its own size", () => {
    const arena = new DatagramArena(SLAB);
    arena.recycle();
    expect(arena.allocate(2500).byteLength).toBe(2500);
    arena.recycle();
    expect(arena.allocate(2400).buffer.byteLength).toBe(2500); // reused: it fits
  });
});
