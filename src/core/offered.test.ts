import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { buildManifest } from "./manifest.ts";
import { allEntries, type LocalEntry, OfferedEntries, subset } from "./offered.ts";

const file = (path: string, size: number | null, source: LocalEntry["source"]): LocalEntry => ({
  entry: { path, kind: "file", size, mode: 0o640, mtimeMs: 1_700_000_000_123.5 },
  source,
});

describe("OfferedEntries", () => {
  test("entries made as objects come back equal, with their sources", () => {
    const list: LocalEntry[] = [
      file("a.txt", 3, { kind: "file", path: "/x/a.txt" }),
      file("stdin", null, { kind: "stdin" }),
      { entry: { path: "t", kind: "dir", size: 0, mode: 0o755, mtimeMs: 5 }, source: { kind: "dir" } },
      {
        entry: { path: "t/l", kind: "symlink", size: 0, mode: 0o777, mtimeMs: 6, target: "a" },
        source: { kind: "link" },
      },
    ];
    const packed = OfferedEntries.of(list);
    expect(allEntries(packed)).toEqual(list);
    expect([packed.kind(1), packed.size(1), packed.path(3)]).toEqual(["file", null, "t/l"]);
  });

  test("any names, sizes and times round-trip through the columns", () => {
    const name = fc.string({ minLength: 1, maxLength: 40, unit: "grapheme" });
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(name, fc.option(fc.nat({ max: 2 ** 53 - 1 })), fc.double({ noNaN: true, noDefaultInfinity: true })),
          {
            maxLength: 30,
          },
        ),
        (rows) => {
          const list = rows.map(([path, size, mtimeMs]) => ({
            entry: { path, kind: "file" as const, size, mode: 0o600, mtimeMs },
            source: { kind: "file" as const, path: `/src/${path}` },
          }));
          expect(allEntries(OfferedEntries.of(list))).toEqual(list);
        },
      ),
    );
  });

  test("a subset numbers its entries anew and keeps their order", () => {
    const list = ["a", "b", "c", "d"].map((p, i) => file(p, i, { kind: "file", path: `/${p}` }));
    const packed = OfferedEntries.of(list);
    const odd = subset(packed, (i) => i % 2 === 1);
    expect(allEntries(odd)).toEqual([list[1]!, list[3]!]);
    expect(subset(packed, () => true)).toBe(packed);
  });
});

describe("buildManifest into packed entries", () => {
  test("a walked tree: offered paths in walk order, local paths joined from the root", async () => {
    const dir = mkdtempSync(join(tmpdir(), "xfer-offered-"));
    try {
      mkdirSync(join(dir, "tree", "sub", "deeper"), { recursive: true });
      writeFileSync(join(dir, "tree", "b.txt"), "bb");
      writeFileSync(join(dir, "tree", "sub", "ä.txt"), "a");
      writeFileSync(join(dir, "tree", "sub", "deeper", "z"), "zzz");
      symlinkSync("b.txt", join(dir, "tree", "sub", "link"));
      writeFileSync(join(dir, "alone"), "1");
      const skipped: string[] = [];
      const walked = await buildManifest([join(dir, "tree"), join(dir, "alone")], {
        followSymlinks: false,
        symlinks: true,
        stdinName: "stdin",
        onSkip: (p) => skipped.push(p),
      });
      const got = allEntries(walked).map(({ entry, source }) => [
        entry.path,
        entry.kind,
        entry.size,
        source.kind === "file" ? source.path : source.kind,
      ]);
      expect(got).toEqual([
        ["tree", "dir", 0, "dir"],
        ["tree/b.txt", "file", 2, join(dir, "tree", "b.txt")],
        ["tree/sub", "dir", 0, "dir"],
        ["tree/sub/deeper", "dir", 0, "dir"],
        ["tree/sub/deeper/z", "file", 3, join(dir, "tree", "sub", "deeper", "z")],
        // The link points at ../b.txt from sub: outside sub but inside the tree, so it travels.
        ["tree/sub/link", "symlink", 0, "link"],
        ["tree/sub/ä.txt", "file", 1, join(dir, "tree", "sub", "ä.txt")],
        ["alone", "file", 1, join(dir, "alone")],
      ]);
      expect(walked.entry(5).target).toBe("b.txt");
      expect(walked.entry(1).mtimeMs).toBe(statSync(join(dir, "tree", "b.txt")).mtimeMs);
      // Asked out of order, a path is still right (the folder cache follows the entry asked for).
      expect([walked.path(6), walked.path(4), walked.path(1)]).toEqual([
        "tree/sub/ä.txt",
        "tree/sub/deeper/z",
        "tree/b.txt",
      ]);
      expect(skipped).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("two sources with one name are refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "xfer-offered-"));
    try {
      mkdirSync(join(dir, "one", "x"), { recursive: true });
      mkdirSync(join(dir, "two", "x"), { recursive: true });
      const opts = { followSymlinks: false, stdinName: "x", onSkip: () => {} };
      await expect(buildManifest([join(dir, "one", "x"), join(dir, "two", "x")], opts)).rejects.toThrow(
        "two sources would both be named 'x'",
      );
      await expect(buildManifest([join(dir, "one", "x"), "-"], opts)).rejects.toThrow("both be named 'x'");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
