import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ManifestEntry, Offer } from "./messages.ts";
import { checkOfferEntries } from "./offer.ts";

/** Values around each field's bounds, and of the wrong types. */
const anyValue = fc.oneof(
  fc.constantFrom(null, undefined, true, "", "a", "file", "dir", "symlink", "FILE", [], {}, -0, 0.5, -1, 4095, 4096),
  fc.constantFrom(0o7777, 0o10000, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, 2 ** 60, 1e12),
  fc.string({ maxLength: 5 }),
  fc.string({ minLength: 4090, maxLength: 4100 }),
  fc.integer(),
  fc.double(),
);
const goodEntry = fc.record(
  {
    path: fc.string({ minLength: 1, maxLength: 20 }),
    kind: fc.constantFrom("file", "dir", "symlink"),
    target: fc.string({ minLength: 1, maxLength: 10 }),
    size: fc.option(fc.nat(), { nil: null }),
    mode: fc.integer({ min: 0, max: 0o7777 }),
    mtimeMs: fc.double({ noNaN: true, noDefaultInfinity: true }),
  },
  { requiredKeys: ["path", "kind", "size", "mode", "mtimeMs"] },
);
/** A valid entry with one field replaced, removed, or an unknown one added. */
const entry = fc.oneof(
  goodEntry,
  fc
    .tuple(goodEntry, fc.constantFrom("path", "kind", "target", "size", "mode", "mtimeMs", "extra"), anyValue)
    .map(([e, key, value]) => {
      const out: Record<string, unknown> = { ...e, [key]: value };
      if (value === undefined) delete out[key];
      return out;
    }),
  anyValue,
);

describe("offer entries, checked in place", () => {
  test("accepted exactly when the schema accepts them, and the same fields come out", () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 6 }), (entries) => {
        const schema = Offer.safeParse({ type: "offer", entries });
        const ours = checkOfferEntries(entries);
        expect("entries" in ours).toBe(schema.success);
        if (!schema.success || !("entries" in ours)) return;
        for (const [i, e] of ours.entries.entries()) expect(ManifestEntry.parse(e)).toEqual(schema.data.entries[i]!);
      }),
      { numRuns: 20_000, seed: 14 },
    );
  }, 60_000);

  test("the problem names the entry and field, and more than a million entries are refused", () => {
    expect(checkOfferEntries([{ path: "a", kind: "file", size: -1, mode: 0, mtimeMs: 0 }])).toEqual({
      problem: "entries.0.size invalid",
    });
    expect(checkOfferEntries("x")).toEqual({ problem: "entries: expected array" });
    expect("problem" in checkOfferEntries(new Array(1_000_001).fill(0))).toBe(true);
  });
});
