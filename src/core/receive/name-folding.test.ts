import { describe, expect, test } from "bun:test";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { foldName, probeFolding } from "./name-folding.ts";

describe("name folding", () => {
  test("the probe asks the folder and leaves nothing behind", async () => {
    const dir = await mkdtemp(join(tmpdir(), "xfer-fold-"));
    try {
      const folding = probeFolding(dir);
      expect(await readdir(dir)).toEqual([]);
      // What this folder does, found out independently with two real files.
      await Bun.write(join(dir, "probe"), "lower");
      const caseFolds = await Bun.file(join(dir, "PROBE")).exists();
      expect(folding.foldsCase).toBe(caseFolds);
      expect(probeFolding(dir)).toBe(folding);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("an unwritable folder is assumed to fold everything", () => {
    expect(probeFolding("/nonexistent/xfer/folder")).toEqual({ foldsCase: true, foldsNormalization: true });
  });

  test("keys", () => {
    expect(foldName("A/\u00e9", { foldsCase: true, foldsNormalization: true })).toBe(
      foldName("a/e\u0301", { foldsCase: true, foldsNormalization: true }),
    );
    expect(foldName("A", { foldsCase: false, foldsNormalization: true })).toBe("A");
    expect(foldName("e\u0301", { foldsCase: true, foldsNormalization: false })).toBe("e\u0301");
  });
});
