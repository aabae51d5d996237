import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { Accept, MAX_PAGE_ENTRIES, ManifestEntry, OfferPage } from "./messages.ts";
import { checkAccept, checkOfferEntries } from "./offer.ts";

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
        const schema = OfferPage.safeParse({ type: "offer-page", first: 0, entries });
        const ours = checkOfferEntries(entries);
        expect("entries" in ours).toBe(schema.success);
        if (!schema.success || !("entries" in ours)) return;
        for (const [i, e] of ours.entries.entries()) expect(ManifestEntry.parse(e)).toEqual(schema.data.entries[i]!);
      }),
      { numRuns: 20_000, seed: 14 },
    );
  }, 60_000);

  test("the problem names the entry and field; an empty page and one over the limit are refused", () => {
    expect(checkOfferEntries([{ path: "a", kind: "file", size: -1, mode: 0, mtimeMs: 0 }])).toEqual({
      problem: "entries.0.size invalid",
    });
    expect(checkOfferEntries("x")).toEqual({ problem: "entries: expected array" });
    expect(checkOfferEntries([])).toEqual({ problem: "entries: a page holds at least one entry" });
    const e = { path: "a", kind: "file", size: 1, mode: 0, mtimeMs: 0 };
    expect("entries" in checkOfferEntries(new Array(MAX_PAGE_ENTRIES).fill(e))).toBe(true);
    expect("problem" in checkOfferEntries(new Array(MAX_PAGE_ENTRIES + 1).fill(e))).toBe(true);
  });
});

describe("accept files, checked in place", () => {
  const goodFile = fc.record(
    {
      index: fc.nat(),
      offset: fc.nat(),
      prefixHash: fc.constantFrom("a".repeat(64), "0f".repeat(32)),
      existing: fc.boolean(),
    },
    { requiredKeys: ["index", "offset"] },
  );
  const file = fc.oneof(
    goodFile,
    fc
      .tuple(goodFile, fc.constantFrom("index", "offset", "prefixHash", "existing", "extra"), anyValue)
      .map(([f, key, value]) => {
        const out: Record<string, unknown> = { ...f, [key]: value };
        if (value === undefined) delete out[key];
        return out;
      }),
    anyValue,
  );
  const refused = fc.oneof(
    fc.constant(undefined),
    fc.array(fc.record({ index: fc.nat(), code: fc.constantFrom("exists", ""), message: fc.string() }), {
      maxLength: 2,
    }),
    anyValue,
  );
  test("accepted exactly when the schema accepts it, with the same files and refusals", () => {
    fc.assert(
      fc.property(
        fc.array(file, { maxLength: 6 }),
        refused,
        fc.oneof(fc.nat(), anyValue),
        (files, refusedValue, first) => {
          const raw: Record<string, unknown> = { type: "accept", first, files: structuredClone(files) };
          if (refusedValue !== undefined) raw.refused = refusedValue;
          const schema = Accept.safeParse(structuredClone(raw));
          const ours = checkAccept(raw);
          expect("files" in ours).toBe(schema.success);
          if (!schema.success || !("files" in ours)) return;
          expect(ours.files.map((f) => Accept.shape.files.element.parse(f))).toEqual(schema.data.files);
          expect(ours.refused).toEqual(schema.data.refused);
          expect(ours.first).toBe(schema.data.first);
        },
      ),
      { numRuns: 20_000, seed: 14 },
    );
  }, 60_000);
});
