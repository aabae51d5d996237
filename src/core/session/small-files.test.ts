import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { XferEvent } from "../events.ts";
import { newHasher } from "../hashing.ts";
import type { LocalEntry } from "../manifest.ts";
import { Progress } from "../progress.ts";
import { FRAME_HEADER_BYTES } from "../protocol/frames.ts";
import { GROUP_BYTES, GROUP_FILES, type GroupItem, SmallFiles } from "./small-files.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "xfer-small-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A file of `size` bytes ((offset + fill) mod 256, so files differ), as the manifest lists it. */
function local(name: string, size: number, fill: number): LocalEntry {
  const path = join(dir, name);
  writeFileSync(
    path,
    Uint8Array.from({ length: size }, (_, i) => (i + fill) & 0xff),
  );
  const st = statSync(path);
  return {
    entry: { path: name, kind: "file", size, mode: 0o644, mtimeMs: st.mtimeMs },
    source: { kind: "file", path },
  };
}

function harness() {
  const writes: GroupItem[][] = [];
  const sent: number[] = [];
  const events: XferEvent[] = [];
  const group = new SmallFiles(
    async (items) => void writes.push([...items]),
    new Progress(() => {}, null),
    (e) => events.push(e),
    { sentFile: (index) => void sent.push(index), throwIfAborted: () => {} },
  );
  return { group, writes, sent, events };
}

const add = (group: SmallFiles, index: number, l: LocalEntry) =>
  group.add(index, l, (l.source as { path: string }).path, l.entry.size ?? 0);

describe("small files in groups", () => {
  test("files go out in as few writes as the limits allow, each file's frames in order", async () => {
    const { group, writes, sent } = harness();
    const count = GROUP_FILES + 10;
    for (let i = 0; i < count; i++) await add(group, i, local(`f${i}`, 100, i));
    expect(writes.length).toBe(1); // the first GROUP_FILES, the rest still queued
    await group.flush();
    expect(writes.length).toBe(2);
    const all = writes.flat();
    expect(all.length).toBe(count * 3);
    for (let i = 0; i < count; i++) {
      expect(all[3 * i]).toEqual({ type: "file", index: i, offset: 0 });
      const data = all[3 * i + 1] as Uint8Array;
      expect(data.byteLength).toBe(FRAME_HEADER_BYTES + 100);
      expect(data[FRAME_HEADER_BYTES]).toBe(i & 0xff);
      expect(all[3 * i + 2]).toMatchObject({ type: "file-end", index: i, size: 100 });
    }
    expect(sent).toEqual([...Array(count).keys()]);
  });

  test("a group full of bytes goes before the file limit; an empty file has no data frame", async () => {
    const { group, writes } = harness();
    const big = GROUP_BYTES / 2;
    await add(group, 0, local("a", big, 1));
    await add(group, 1, local("empty", 0, 0));
    expect(writes.length).toBe(0);
    await add(group, 2, local("b", big, 2));
    expect(writes.length).toBe(1);
    expect(writes[0]!.map((x) => (x instanceof Uint8Array ? "data" : x.type))).toEqual([
      "file",
      "data",
      "file-end",
      "file",
      "file-end",
      "file",
      "data",
      "file-end",
    ]);
  });

  test("the hash sent is the file's BLAKE3", async () => {
    const { group, writes } = harness();
    const l = local("h", 5000, 7);
    const hash = await add(group, 0, l);
    await group.flush();
    const h = await newHasher();
    h.update(Uint8Array.from({ length: 5000 }, (_, i) => (i + 7) & 0xff));
    expect(hash).toBe(h.digest());
    expect(writes[0]![2]).toMatchObject({ type: "file-end", hash });
  });

  test("a file that changed since it was listed is an error, and nothing queued after it goes out", async () => {
    const { group, writes } = harness();
    await add(group, 0, local("ok", 10, 0));
    const changed = local("changed", 10, 0);
    writeFileSync((changed.source as { path: string }).path, "longer than ten bytes");
    await expect(add(group, 1, changed)).rejects.toMatchObject({ code: "source-unreadable" });
    expect(writes.length).toBe(0);
  });
});
