import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { newHasher } from "../hashing.ts";
import { OfferedNames } from "../names.ts";
import { FOLDS_EVERYTHING, FOLDS_NOTHING } from "../receive/name-folding.ts";
import { FileHashes } from "./file-hashes.ts";
import { summaryHash } from "./result.ts";

const hash = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("hex"));
// Names from characters that sort differently by UTF-16 unit and by code point (U+E000–U+FFFF against
// U+10000 and above), plus the folder separator and plain letters.
const char = fc.constantFrom(
  "a",
  "b",
  "/",
  "-",
  ".",
  "é",
  "\u{e000}",
  "\u{fffd}",
  "\u{ffff}",
  "\u{10000}",
  "😀",
  "\u{10ffff}",
);
const name = fc.array(char, { minLength: 1, maxLength: 8 }).map((c) => c.join(""));

describe("FileHashes", () => {
  test("the summary hash of a Map of names and hashes, for any names (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.tuple(name, hash), { maxLength: 40, selector: ([n]) => n }), async (files) => {
        const map = new Map<string, string>();
        const packed = new FileHashes();
        for (const [n, h] of files) {
          map.set(n, h);
          packed.add(n, h);
        }
        expect(await packed.digest()).toBe(await summaryHash(map));
      }),
      { numRuns: 300 },
    );
  });

  test("names kept as numbers in the offer's names give the same summary, folding or not (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(name, hash, fc.boolean()), { maxLength: 40, selector: ([n]) => n.toLowerCase() }),
        fc.boolean(),
        async (files, folds) => {
          const names = new OfferedNames(folds ? FOLDS_EVERYTHING : FOLDS_NOTHING);
          const check = names.check(
            files.map(([n]) => n),
            0,
          );
          fc.pre(check.fatal === null && check.collisions.size === 0);
          const map = new Map<string, string>();
          const numbered = new FileHashes(names);
          // Only some of the offered files verify: those are what the summary covers.
          for (const [n, h, verified] of files)
            if (verified) {
              map.set(n, h);
              numbered.add(n, h);
            }
          expect(await numbered.digest()).toBe(await summaryHash(map));
        },
      ),
      { numRuns: 300 },
    );
  });

  test("a name the offer's names do not hold is refused", () => {
    const names = new OfferedNames(FOLDS_EVERYTHING);
    names.check(["README"], 0);
    expect(() => new FileHashes(names).add("other", "00".repeat(32))).toThrow(/not among the offered names/);
    // Same key, another spelling: not the name that was taken.
    expect(() => new FileHashes(names).add("readme", "00".repeat(32))).toThrow(/not among the offered names/);
  });

  test("one file: its own hash; none: the hash of nothing", async () => {
    const one = new FileHashes();
    one.add("a", "ab".repeat(32));
    expect(await one.digest()).toBe("ab".repeat(32));
    expect(one.size).toBe(1);
    const empty = await newHasher();
    expect(await new FileHashes().digest()).toBe(empty.digest());
  });

  test("grows past its first buffers, and long names go through unbatched", async () => {
    const map = new Map<string, string>();
    const packed = new FileHashes();
    for (let i = 0; i < 5000; i++) {
      const n = i === 7 ? "x".repeat(70_000) : `d${i % 37}/${i}`;
      const h = (i % 256).toString(16).padStart(2, "0").repeat(32);
      map.set(n, h);
      packed.add(n, h);
    }
    expect(packed.size).toBe(5000);
    expect(await packed.digest()).toBe(await summaryHash(map));
  });

  test("refuses what is not a hash, and a name added twice", async () => {
    expect(() => new FileHashes().add("a", "AB".repeat(32))).toThrow(/not a file hash/);
    const twice = new FileHashes();
    for (const n of ["a", "b", "a"]) twice.add(n, "00".repeat(32));
    await expect(twice.digest()).rejects.toThrow(/'a' was added twice/);
  });
});
