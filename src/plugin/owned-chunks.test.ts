import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { handOver, release } from "./owned-chunks.ts";

describe("owned chunks", () => {
  test("a handed-over buffer is freed through the view it was handed over as", () => {
    const chunk = handOver(new Uint8Array(64 << 10).fill(1));
    expect(release(chunk)).toBe(true);
    expect(chunk.byteLength).toBe(0);
    expect(chunk.buffer.byteLength).toBe(0);
    // Once only: a second release has nothing left to free.
    expect(release(chunk)).toBe(false);
  });

  test("a buffer nobody handed over is never freed", () => {
    const chunk = new Uint8Array(64 << 10).fill(2);
    expect(release(chunk)).toBe(false);
    expect(chunk.byteLength).toBe(64 << 10);
    expect(chunk[100]).toBe(2);
  });

  test("a part of a handed-over chunk (kept by a reader for later) is never freed by releasing another part", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8192 }), fc.integer({ min: 1, max: 8192 }), (at, length) => {
        const chunk = handOver(new Uint8Array(8192).fill(3));
        const part = chunk.subarray(at, at + length);
        if (part.byteLength === chunk.byteLength) return;
        expect(release(part)).toBe(false);
        expect(chunk.byteLength).toBe(8192);
        expect(chunk[8191]).toBe(3);
      }),
    );
  });

  test("small buffers are not worth it (and may share a pool): left to the collector", () => {
    const small = handOver(new Uint8Array(100));
    expect(release(small)).toBe(false);
    expect(small.byteLength).toBe(100);
    const pooled = handOver(Buffer.from("a few bytes from node's shared pool"));
    expect(release(pooled)).toBe(false);
  });

  test("a view of part of a larger buffer (at its start or further in) is never handed over", () => {
    const big = new Uint8Array(1 << 16);
    expect(release(handOver(big.subarray(16)))).toBe(false);
    expect(release(handOver(big.subarray(0, 1 << 15)))).toBe(false);
    expect(big.byteLength).toBe(1 << 16);
  });
});
