import { describe, expect, test } from "bun:test";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import fc from "fast-check";
import { XferError } from "../errors.ts";
import { GENERATED_CODE_BITS, generateCode, normalizeCode } from "./code.ts";

const WORD_SET: ReadonlySet<string> = new Set(wordlist);

/** The shape generateCode() promises: a number 1..999 without leading zero, then four list words. */
function isGeneratedShape(code: string): boolean {
  const [number, ...words] = code.split("-");
  if (number === undefined || !/^[1-9][0-9]{0,2}$/.test(number)) return false;
  return words.length === 4 && words.every((w) => WORD_SET.has(w));
}

/** Hands out the given 16-bit values, big-endian, two bytes per call. */
function sequence(values: number[]): (n: number) => Uint8Array {
  let i = 0;
  return (n) => {
    expect(n).toBe(2);
    const v = values[i++];
    if (v === undefined) throw new Error("sequence exhausted");
    return new Uint8Array([v >> 8, v & 0xff]);
  };
}

function usageError(fn: () => unknown): XferError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(XferError);
    expect((err as XferError).code).toBe("usage");
    return err as XferError;
  }
  throw new Error("expected a usage error");
}

describe("generateCode", () => {
  test("shape: number 1..999, then four BIP39 words", () => {
    for (let i = 0; i < 200; i++) {
      const code = generateCode();
      expect(code).toMatch(/^[1-9][0-9]{0,2}(-[a-z]+){4}$/);
      const [n, ...words] = code.split("-");
      expect(Number(n)).toBeGreaterThanOrEqual(1);
      expect(Number(n)).toBeLessThanOrEqual(999);
      for (const w of words) expect(wordlist).toContain(w);
      expect(isGeneratedShape(code)).toBe(true);
      expect(normalizeCode(code)).toBe(code);
    }
  });

  test("entropy constant", () => {
    expect(wordlist.length).toBe(2048);
    expect(GENERATED_CODE_BITS).toBeCloseTo(44 + Math.log2(999), 10);
    expect(GENERATED_CODE_BITS).toBeGreaterThan(53.9);
  });

  test("out-of-range numbers are redrawn, not folded", () => {
    // 999..1023 (after masking to 10 bits) must be skipped; 0xfc00 | 998 masks to 998 → "999".
    const code = generateCode(sequence([999, 1023, 0xffff, 0x03e6 | 0xfc00, 0, 1, 2047, 0xf800]));
    expect(code).toBe(`999-${wordlist[0]}-${wordlist[1]}-${wordlist[2047]}-${wordlist[0]}`);
    expect(generateCode(sequence([0, 5, 6, 7, 8]))).toBe(
      `1-${wordlist[5]}-${wordlist[6]}-${wordlist[7]}-${wordlist[8]}`,
    );
  });

  test("every draw of the number is in range", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 20 }), (draws) => {
        const values = [...draws, 0, 0, 0, 0, 0];
        const code = generateCode(sequence(values));
        const n = Number(code.split("-")[0]);
        expect(n).toBeGreaterThanOrEqual(1);
        expect(n).toBeLessThanOrEqual(999);
        const first = draws.find((v) => (v & 0x3ff) < 999);
        expect(n).toBe(first === undefined ? 1 : (first & 0x3ff) + 1);
      }),
    );
  });

  test("rough uniformity over words", () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      for (const w of generateCode().split("-").slice(1)) counts.set(w, (counts.get(w) ?? 0) + 1);
    }
    // 8000 draws over 2048 words: a fair source touches most of them.
    expect(counts.size).toBeGreaterThan(1700);
    expect(Math.max(...counts.values())).toBeLessThan(20);
  });
});

describe("normalizeCode", () => {
  test.each([
    [" 7 Apple_river.STONE  tiger-zoo ", "7-apple-river-stone-tiger-zoo"],
    ["7-APPLE-River-stone-TIGER", "7-apple-river-stone-tiger"],
    ["--7--apple--", "7-apple"],
    ["７－ａｐｐｌｅ　ＲＩＶＥＲ", "7-apple-river"],
    ["ﬁve-apples", "five-apples"],
    ["Straße-grün", "straße-grün"],
    ["cafe\u0301-bar", "café-bar"],
    ["42\tapple\nriver", "42-apple-river"],
  ])("%p → %p", (input, want) => {
    expect(normalizeCode(input)).toBe(want);
  });

  test.each([[""], ["   "], ["-_-.,"], ["\u0301"]])("refuses an empty code %p", (input) => {
    expect(usageError(() => normalizeCode(input)).message).toContain("empty");
  });

  test.each([["abc"], ["1-abc"], ["a b c"]])("refuses a short code %p", (input) => {
    expect(usageError(() => normalizeCode(input)).message).toContain("too short");
  });

  test("accepts exactly six characters", () => {
    expect(normalizeCode("abcdef")).toBe("abcdef");
  });

  test("is idempotent", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), (text) => {
        let once: string;
        try {
          once = normalizeCode(text);
        } catch (err) {
          expect((err as XferError).code).toBe("usage");
          return;
        }
        expect(normalizeCode(once)).toBe(once);
      }),
      { numRuns: 500 },
    );
  });

  test("undoes random case and separators on a generated code", () => {
    const separator = fc.stringMatching(/^[ \-_.,/\t]{1,3}$/);
    fc.assert(
      fc.property(
        fc.array(separator, { minLength: 6, maxLength: 6 }),
        fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }),
        (seps, upper) => {
          const code = generateCode();
          const chars = [...code.split("-").join("\u0000")].map((c, i) => (upper[i % 64] ? c.toUpperCase() : c));
          const parts = chars.join("").split("\u0000");
          const typed = (seps[0] ?? "") + parts.map((p, i) => p + (seps[i + 1] ?? "")).join("");
          expect(normalizeCode(typed)).toBe(code);
        },
      ),
    );
  });
});

describe("the shape check these tests use", () => {
  test.each([
    [`1-${wordlist.slice(0, 4).join("-")}`, true],
    [`999-${wordlist.slice(4, 8).join("-")}`, true],
    [`0-${wordlist.slice(0, 4).join("-")}`, false],
    [`1000-${wordlist.slice(0, 4).join("-")}`, false],
    [`07-${wordlist.slice(0, 4).join("-")}`, false],
    [`7-${wordlist.slice(0, 3).join("-")}`, false],
    [`7-${wordlist.slice(0, 5).join("-")}`, false],
    ["7-apple-river-stone-notaword", false],
    [wordlist.slice(0, 5).join("-"), false],
    ["", false],
  ])("%p → %p", (code, want) => {
    expect(isGeneratedShape(code)).toBe(want);
  });
});
