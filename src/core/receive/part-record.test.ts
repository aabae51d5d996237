import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { lstatSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { decodeJournal, encodeLine, identityOf, PartRecord, RECORD_DIR } from "./part-record.ts";

describe("journal lines", () => {
  test("what is encoded decodes to the same parts, whatever the names", () => {
    const part = fc.record({
      rel: fc.string({ minLength: 1, maxLength: 60, unit: "grapheme" }),
      id: fc.record({ ino: fc.nat(), born: fc.nat() }),
    });
    fc.assert(
      fc.property(fc.array(part, { maxLength: 20 }), (parts) => {
        const decoded = decodeJournal(parts.map((p) => encodeLine(p.rel, p.id)).join(""));
        expect(new Set([...decoded.values()].map((p) => JSON.stringify(p)))).toEqual(
          new Set(parts.map((p) => JSON.stringify({ rel: p.rel, id: p.id }))),
        );
      }),
      { numRuns: 2000, seed: 13 },
    );
  });

  test("any text decodes without throwing; torn or foreign lines are skipped", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        for (const p of decodeJournal(text).values()) expect(p.rel.length).toBeGreaterThan(0);
      }),
      { numRuns: 5000, seed: 13 },
    );
    const good = encodeLine("a.xfer-part", { ino: 5, born: 7 });
    expect([...decodeJournal(`${good}{"p":"b","i":-1,"b":0}\n{"p":"c",`).values()]).toEqual([
      { rel: "a.xfer-part", id: { ino: 5, born: 7 } },
    ]);
  });
});

describe("the record on disk", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "xfer-pr-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test("another receiver's parts are known; a dead receiver's journal is adopted and removed at the next rewrite", async () => {
    await writeFile(join(root, "a.xfer-part"), "x");
    const info = lstatSync(join(root, "a.xfer-part"));
    await mkdir(join(root, RECORD_DIR));
    // No process has pid 2^31 - 1: that journal's writer is gone.
    const dead = "parts-2147483647-00.log";
    await writeFile(join(root, RECORD_DIR, dead), encodeLine("a.xfer-part", identityOf(info)));
    const record = new PartRecord(root);
    expect(record.owns("a.xfer-part", info)).toBe(true);
    expect(record.owns("b.xfer-part", info)).toBe(false);
    record.settle();
    const names = await readdir(join(root, RECORD_DIR));
    expect(names).not.toContain(dead);
    expect(names).toHaveLength(1);
    expect(new PartRecord(root).owns("a.xfer-part", info)).toBe(true);
    await rm(join(root, "a.xfer-part"));
    record.settle();
    expect(await readdir(root)).toEqual([]);
  });

  test("parts added in one turn are in the journal once it ends, or at a settle before", async () => {
    const infos = [];
    for (const name of ["a", "b", "c"]) {
      await writeFile(join(root, `${name}.xfer-part`), name);
      infos.push(lstatSync(join(root, `${name}.xfer-part`)));
    }
    const record = new PartRecord(root);
    record.add("a.xfer-part", infos[0]!);
    record.add("b.xfer-part", infos[1]!);
    // Another process reads only the journal on disk: nothing yet, within this turn.
    expect(new PartRecord(root).owns("a.xfer-part", infos[0]!)).toBe(false);
    await new Promise((r) => setImmediate(r));
    const other = new PartRecord(root);
    expect(other.owns("a.xfer-part", infos[0]!)).toBe(true);
    expect(other.owns("b.xfer-part", infos[1]!)).toBe(true);
    record.add("c.xfer-part", infos[2]!);
    record.settle();
    expect(new PartRecord(root).owns("c.xfer-part", infos[2]!)).toBe(true);
  });

  test("a record folder that is not a folder is a clear error, not followed", async () => {
    await writeFile(join(root, RECORD_DIR), "mine");
    await writeFile(join(root, "a.xfer-part"), "x");
    expect(() => new PartRecord(root).owns("a.xfer-part", lstatSync(join(root, "a.xfer-part")))).toThrow(
      "is not a folder",
    );
  });
});
