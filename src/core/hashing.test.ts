import { describe, expect, test } from "bun:test";
import { createRequire } from "node:module";
import fc from "fast-check";
import { newHasher } from "./hashing.ts";

const { Blake3Hasher } = createRequire(import.meta.url)("@napi-rs/blake-hash") as typeof import("@napi-rs/blake-hash");

describe("newHasher", () => {
  test("any chunking, small or past the copy limit, digests like one native hasher, digest after digest", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.nat({ max: 300 }), fc.integer({ min: 20_000, max: 140_000 })), { maxLength: 6 }),
        fc.integer({ min: 0, max: 255 }),
        async (sizes, fill) => {
          const ours = await newHasher();
          const reference = new Blake3Hasher();
          for (const [k, size] of sizes.entries()) {
            const chunk = Buffer.alloc(size, (fill + k) & 255);
            ours.update(chunk);
            reference.update(chunk);
            // The caller may reuse its buffer at once: what was hashed must not change with it.
            chunk.fill(0xee);
            expect(ours.digest()).toBe(reference.digest("hex"));
          }
          expect(ours.digest()).toBe(reference.digest("hex"));
        },
      ),
      { numRuns: 60 },
    );
  });

  test("digestWith after any chunking digests like one native hasher, and keeps no reference to its bytes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.nat({ max: 300 }), fc.integer({ min: 20_000, max: 140_000 })), { maxLength: 3 }),
        fc.oneof(fc.nat({ max: 5000 }), fc.integer({ min: 60_000, max: 140_000 })),
        async (sizes, last) => {
          const ours = await newHasher();
          const reference = new Blake3Hasher();
          for (const [k, size] of sizes.entries()) {
            const chunk = Buffer.alloc(size, k + 1);
            ours.update(chunk);
            reference.update(chunk);
          }
          const chunk = Buffer.alloc(last, 0x5a);
          reference.update(chunk);
          const want = reference.digest("hex");
          expect(ours.digestWith(chunk)).toBe(want);
          chunk.fill(0xee);
          expect(ours.digest()).toBe(want);
          ours.update(new Uint8Array(0));
          expect(ours.digest()).toBe(want);
        },
      ),
      { numRuns: 60 },
    );
  });

  test("the empty input's digest is BLAKE3's", async () => {
    const empty = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262";
    expect((await newHasher()).digest()).toBe(empty);
    // The digest of nothing is kept once: a second hasher, and one given an empty update, still say it.
    const h = await newHasher();
    h.update(new Uint8Array(0));
    expect(h.digest()).toBe(empty);
    h.update(new Uint8Array([1]));
    expect(h.digest()).not.toBe(empty);
  });
});
