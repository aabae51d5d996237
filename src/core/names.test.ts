import { describe, expect, test } from "bun:test";
import { isAbsolute, join, relative, resolve } from "node:path";
import fc from "fast-check";
import { checkOfferedNames, componentReason, OfferedNames, unsafeLinkReason, unsafeNameReason } from "./names.ts";
import { FOLDS_EVERYTHING, FOLDS_NOTHING, foldName, type NameFolding } from "./receive/name-folding.ts";

describe("offered names", () => {
  test.each([
    ["a.txt"],
    ["dir/sub/file.bin"],
    ["ünïcødé/файл.txt"],
    [".hidden"],
    ["a..b"],
    ["می\u200cخواهم.txt"],
    ["family 👨\u200d👩\u200d👧.jpg"],
    ["❤\ufe0f.png"],
  ])("accepts %p", (name) => {
    expect(unsafeNameReason(name)).toBeNull();
  });

  test.each([
    ["", "empty"],
    ["/etc/passwd", "absolute"],
    ["../x", "'..'"],
    ["a/../../x", "'..'"],
    ["a/./b", "'.'"],
    ["a//b", "empty path component"],
    ["a/", "empty path component"],
    ["C:/x", "drive letter"],
    ["c:x", "drive letter"],
    ["a\\..\\b", "reserved character"],
    ["nul", "reserved device"],
    ["dir/COM1.txt", "reserved device"],
    ["a\u0000b", "control"],
    ["a\nb", "control"],
    ["trailing.", "dot or space"],
    ["x.xfer-part", ".xfer-part"],
    ["a".repeat(256), "too long"],
    ["a\u0085b", "C1"],
    [Array(257).fill("d").join("/"), "folders deep"],
    ["invoice\u202etxt.exe", "bidi"],
    ["re\u2067adme", "bidi"],
    ["pass\u200bwd", "invisible"],
    ["\ufeffbom", "invisible"],
    ["x\ufffe", "invisible"],
    ["a\ud800", "lone surrogate"],
    ["\udc00b", "lone surrogate"],
  ])("refuses %p", (name, why) => {
    expect(unsafeNameReason(name)).toContain(why);
  });

  test("the same path twice refuses the whole offer, whatever the filesystem", () => {
    expect(checkOfferedNames(["a", "a"], FOLDS_NOTHING).fatal?.reason).toBe("duplicate name");
  });

  test("names differing only in case or normalisation: both kept where the filesystem tells them apart", () => {
    const names = ["xt_connmark.h", "xt_CONNMARK.h", "caf\u00e9", "cafe\u0301"];
    expect(checkOfferedNames(names, FOLDS_NOTHING)).toEqual({ fatal: null, collisions: new Map() });
  });

  test("where it folds them, only the later spelling is refused, with its folder's contents", () => {
    const names = ["inc", "inc/xt_connmark.h", "inc/xt_CONNMARK.h", "Inc", "Inc/other.h", "caf\u00e9", "cafe\u0301"];
    const { fatal, collisions } = checkOfferedNames(names, FOLDS_EVERYTHING);
    expect(fatal).toBeNull();
    expect([...collisions.keys()]).toEqual([2, 3, 4, 6]);
    expect(collisions.get(2)).toContain("beside 'inc/xt_connmark.h'");
    expect(collisions.get(4)).toContain("inside 'Inc'");
    const caseOnly = checkOfferedNames(names, { foldsCase: true, foldsNormalization: false });
    expect([...caseOnly.collisions.keys()]).toEqual([2, 3, 4]);
  });

  test("property: with folding, the names kept are pairwise distinct after folding", () => {
    const part = fc.constantFrom("a", "A", "\u00e9", "e\u0301", "b", "dir", "DIR");
    const name = fc.array(part, { minLength: 1, maxLength: 3 }).map((p) => p.join("/"));
    fc.assert(
      // Folders before their contents, as every manifest lists them.
      fc.property(fc.uniqueArray(name, { maxLength: 12 }), (unordered) => {
        const names = unordered.toSorted((a, b) => a.split("/").length - b.split("/").length);
        const { fatal, collisions } = checkOfferedNames(names, FOLDS_EVERYTHING);
        expect(fatal).toBeNull();
        const kept = names.filter((_, i) => !collisions.has(i)).map((n) => n.toLowerCase().normalize("NFC"));
        expect(new Set(kept).size).toBe(kept.length);
        // Nothing kept lies inside a refused entry.
        for (const i of collisions.keys())
          for (const [j, n] of names.entries()) if (n.startsWith(`${names[i]}/`)) expect(collisions.has(j)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  test("property: an offer checked in pages of any split gets what a whole-list Map check gets", () => {
    const part = fc.constantFrom("a", "A", "\u00e9", "e\u0301", "b", "dir", "DIR", "x\u0000");
    const name = fc.array(part, { minLength: 1, maxLength: 3 }).map((p) => p.join("/"));
    const folding = fc.constantFrom(FOLDS_NOTHING, FOLDS_EVERYTHING, { foldsCase: true, foldsNormalization: false });
    fc.assert(
      fc.property(
        fc.array(name, { maxLength: 14 }),
        fc.array(fc.nat(14), { maxLength: 5 }),
        folding,
        (names, cuts, f) => {
          const whole = referenceCheck(names, f);
          const checker = new OfferedNames(f);
          const bounds = [...new Set([0, ...cuts.filter((c) => c < names.length), names.length])].sort((a, b) => a - b);
          const collisions = new Map<number, string>();
          let fatal: { name: string; reason: string } | null = null;
          for (let p = 0; p + 1 < bounds.length && !fatal; p++) {
            const got = checker.check(names.slice(bounds[p], bounds[p + 1]), bounds[p]!);
            for (const [i, why] of got.collisions) collisions.set(i, why);
            fatal = got.fatal;
          }
          expect(fatal).toEqual(whole.fatal);
          // Collisions after a fatal name do not matter: the offer is refused there.
          if (!fatal) expect(collisions).toEqual(whole.collisions);
        },
      ),
      { numRuns: 2000, seed: 14 },
    );
  });

  test("any accepted name stays inside the receiving folder", () => {
    const root = resolve("/srv/recv");
    const segment = fc.oneof(
      fc.constantFrom("..", ".", "", "a", "b", "C:", "con", "x\\..", "/"),
      fc.string({ maxLength: 8 }),
    );
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), fc.boolean(), (parts, lead) => {
        const name = (lead ? "/" : "") + parts.join("/");
        if (unsafeNameReason(name) !== null) return;
        const target = resolve(join(root, ...name.split("/")));
        const rel = relative(root, target);
        expect(rel === ".." || rel.startsWith("../") || isAbsolute(rel) || rel === "").toBe(false);
      }),
      { numRuns: 3000 },
    );
  });

  test.each([
    ["l", "x", null],
    ["a/b/l", "../../x", null],
    ["a/l", "../../x", "outside"],
    ["l", "/etc", "absolute"],
    ["a/l", "b/../../x", "plain names"],
    ["a/l", "./x", "plain names"],
    ["l", "", "without a target"],
    ["l", "a\\b", "backslash"],
  ])("link %p -> %p", (path, target, why) => {
    const reason = unsafeLinkReason(path, target);
    if (why === null) expect(reason).toBeNull();
    else expect(reason).toContain(why);
  });

  test("property: an accepted link's target, resolved from the link's folder, stays inside the receiving folder", () => {
    const root = resolve("/srv/recv");
    const seg = fc.constantFrom("..", ".", "", "a", "b", "/", "c:");
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom("a", "b"), { minLength: 1, maxLength: 4 }),
        fc.array(seg, { maxLength: 6 }),
        (p, t) => {
          const path = p.join("/");
          const target = t.join("/");
          if (unsafeLinkReason(path, target) !== null) return;
          const lands = resolve(join(root, ...path.split("/").slice(0, -1)), target);
          const rel = relative(root, lands);
          expect(rel === ".." || rel.startsWith("../") || isAbsolute(rel)).toBe(false);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe("the whole-name check", () => {
  test("gives the same answer as the walk over components, on names built from the tricky pieces", () => {
    const piece = fc.constantFrom(
      "a",
      "B",
      "/",
      "//",
      ".",
      "..",
      " ",
      "con",
      "NUL",
      "com1",
      "lpt¹",
      "conin$",
      ".txt",
      ":",
      "\\",
      "\u0000",
      "\u001f",
      "\u202e",
      "\u200b",
      "\ud800",
      "\udc00",
      "\ud83d\ude00",
      "é",
      "e\u0301",
      ".xfer-part",
      "x".repeat(90),
      "ü".repeat(40),
    );
    fc.assert(
      fc.property(fc.array(piece, { minLength: 0, maxLength: 12 }), (pieces) => {
        const name = pieces.join("");
        expect(unsafeNameReason(name)).toBe(componentReason(name));
      }),
      { numRuns: 50_000, seed: 14 },
    );
    for (const name of [`${"a/".repeat(256)}b`, `${"a/".repeat(255)}b`, `${"é".repeat(128)}/x`, "d/".repeat(300)])
      expect(unsafeNameReason(name)).toBe(componentReason(name));
  });
});

/** The check as it was before pages, one Map of every name: the oracle the paged check is held to. */
function referenceCheck(names: readonly string[], folding: NameFolding) {
  const byKey = new Map<string, string>();
  const collisions = new Map<number, string>();
  const refused = new Set<string>();
  for (const [index, name] of names.entries()) {
    const reason = unsafeNameReason(name);
    if (reason) return { fatal: { name, reason }, collisions };
    const inside = name
      .split("/")
      .slice(0, -1)
      .map((_, i, parts) => parts.slice(0, i + 1).join("/"))
      .find((p) => refused.has(p));
    if (inside !== undefined) {
      collisions.set(index, `it is inside '${inside}', which was refused`);
      refused.add(name);
      continue;
    }
    const key = foldName(name, folding);
    const earlier = byKey.get(key);
    if (earlier === name) return { fatal: { name, reason: "duplicate name" }, collisions };
    if (earlier !== undefined) {
      const what =
        folding.foldsCase && folding.foldsNormalization
          ? "it ignores case and Unicode normalisation"
          : folding.foldsCase
            ? "it ignores case"
            : "it ignores Unicode normalisation";
      collisions.set(index, `this receiver's filesystem cannot hold it beside '${earlier}' (${what})`);
      refused.add(name);
      continue;
    }
    byKey.set(key, name);
  }
  return { fatal: null, collisions };
}
