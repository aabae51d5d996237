import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newHasher } from "../hashing.ts";
import type { ManifestEntry } from "../protocol/messages.ts";
import { ReceiveDir } from "./receive-dir.ts";

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "xfer-placed-"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const MTIME = Date.UTC(2020, 0, 2);
const entry = (path: string, size: number): ManifestEntry => ({
  path,
  kind: "file",
  size,
  mode: 0o640,
  mtimeMs: MTIME,
});
const bytes = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7) & 0xff);
async function hashOf(data: Uint8Array): Promise<string> {
  const h = await newHasher();
  h.update(data);
  return h.digest();
}

describe("a placed file (datagram path) on its bare descriptor", () => {
  test("pieces in any order, verified, published with the offered mode and time; late data is refused", async () => {
    const dir = new ReceiveDir(root, { overwrite: false });
    const placed = await dir.openPlaced(entry("f", bytes.length));
    await placed.writeAt(bytes.subarray(6000), 6000);
    await placed.writeAt(bytes.subarray(0, 3000), 0);
    await placed.writeAt(bytes.subarray(3000, 6000), 3000);
    await placed.finish(await hashOf(bytes));
    expect(readFileSync(join(root, "f"))).toEqual(Buffer.from(bytes));
    const st = statSync(join(root, "f"));
    expect(st.mode & 0o777).toBe(0o640);
    expect(st.mtimeMs).toBe(MTIME);
    expect(existsSync(join(root, "f.xfer-part"))).toBe(false);
    await expect(placed.writeAt(bytes.subarray(0, 10), 0)).rejects.toMatchObject({ code: "protocol" });
    await placed.abandon(); // after finishing: nothing to close, nothing written
    expect(readFileSync(join(root, "f"))).toEqual(Buffer.from(bytes));
    dir.settle();
  });

  test("a wrong hash leaves nothing under either name", async () => {
    const dir = new ReceiveDir(root, { overwrite: false });
    const placed = await dir.openPlaced(entry("g", bytes.length));
    await placed.writeAt(bytes, 0);
    await expect(placed.finish(await hashOf(bytes.subarray(1)))).rejects.toMatchObject({ code: "integrity" });
    expect(readdirSync(root).filter((n) => n.startsWith("g"))).toEqual([]);
  });

  test("missing data: the part is kept, cut to what arrived, with its missing ranges beside it", async () => {
    const dir = new ReceiveDir(root, { overwrite: false });
    const e = entry("h", bytes.length);
    const placed = await dir.openPlaced(e);
    await placed.writeAt(bytes.subarray(0, 4000), 0);
    const record = await placed.keepIncomplete([[4000, bytes.length]], false);
    expect(statSync(join(root, "h.xfer-part")).size).toBe(4000);
    expect(JSON.parse(readFileSync(record, "utf8"))).toMatchObject({ file: "h", missing: [[4000, bytes.length]] });
    const resumed = await dir.resumePlaced(e);
    expect(resumed?.missing).toEqual([[4000, bytes.length]]);
    await resumed!.file.writeAt(bytes.subarray(4000), 4000);
    await resumed!.file.finish(await hashOf(bytes));
    expect(readFileSync(join(root, "h"))).toEqual(Buffer.from(bytes));
    expect(existsSync(record)).toBe(false);
  });
});
