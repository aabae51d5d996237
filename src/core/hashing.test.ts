import { expect, test } from "bun:test";
import fc from "fast-check";
import { createBLAKE3 } from "hash-wasm";
import { hashingImplementation, newHasher } from "./hashing.ts";

test("any pieces, with digests taken on the way, hash as BLAKE3 of everything so far", async () => {
  expect(hashingImplementation()).toBe("blake3-native");
  const reference = await createBLAKE3();
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          // Up to past the size held back for a one-shot hash (64 KiB).
          size: fc.oneof(fc.nat(70), fc.nat(70_000)),
          digestAfter: fc.boolean(),
          reuse: fc.boolean(),
        }),
        { maxLength: 6 },
      ),
      fc.nat(),
      async (pieces, seed) => {
        const h = await newHasher();
        reference.init();
        let n = seed;
        for (const { size, digestAfter, reuse } of pieces) {
          const buf = new Uint8Array(size);
          for (let i = 0; i < size; i++) {
            n = (n * 1103515245 + 12345) >>> 0;
            buf[i] = n >>> 24;
          }
          h.update(buf);
          reference.update(buf);
          // A caller reusing its buffer after update must not change what was hashed.
          if (reuse) buf.fill(0xaa);
          if (digestAfter) {
            const state = reference.save();
            expect(h.digest()).toBe(reference.digest("hex"));
            reference.load(state);
          }
        }
        expect(h.digest()).toBe(reference.digest("hex"));
      },
    ),
    { numRuns: 300 },
  );
});
