import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { constants, existsSync } from "node:fs";
import { link, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import type { XferError } from "../errors.ts";
import { newHasher } from "../hashing.ts";
import type { ManifestEntry } from "../protocol/messages.ts";
import { ReceiveDir } from "./receive-dir.ts";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "xfer-rd-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const file = (path: string, size: number | null): ManifestEntry => ({
  path,
  kind: "file",
  size,
  mode: 0o644,
  mtimeMs: 1e12,
});
/** A part as an interrupted session of this receiver leaves it (a user's file of that name is not one). */
async function ourPart(name: string, bytes: Uint8Array): Promise<void> {
  const sink = await new ReceiveDir(root, { overwrite: false }).openFile(file(name, null), 0, null);
  await sink.write(bytes);
  await sink.abandon();
}
const codeOf = async (p: Promise<unknown>) => ((await p.catch((e: unknown) => e)) as XferError).code;
const digest = async (b: Uint8Array) => {
  const h = await newHasher();
  h.update(b);
  return h.digest();
};

describe("resume", () => {
  test("offset is the verified part length, with the hash of exactly those bytes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 5000 }), fc.nat(6000), async (content, partLen) => {
        const part = content.subarray(0, Math.min(partLen, content.byteLength));
        await rm(join(root, "f.bin.xfer-part"), { force: true });
        await ourPart("f.bin", part);
        const prepared = await new ReceiveDir(root, { overwrite: false }).prepare([file("f.bin", content.byteLength)], {
          resume: true,
        });
        const p = prepared.get(0)!;
        expect(p.accepted.offset).toBe(part.byteLength);
        if (part.byteLength > 0) expect(p.accepted.prefixHash).toBe(await digest(part));
        else expect(p.accepted.prefixHash).toBeUndefined();
      }),
      { numRuns: 60 },
    );
  });

  test("a part longer than the offered file resumes at most at its size", async () => {
    await ourPart("f", new Uint8Array(100));
    const p = (await new ReceiveDir(root, { overwrite: false }).prepare([file("f", 40)], { resume: true })).get(0)!;
    expect(p.accepted.offset).toBe(40);
  });

  test("a continued write produces the whole file's hash and publishes atomically", async () => {
    const content = crypto.getRandomValues(new Uint8Array(10_000));
    await ourPart("f", content.subarray(0, 3000));
    const dir = new ReceiveDir(root, { overwrite: false });
    const p = (await dir.prepare([file("f", content.byteLength)], { resume: true })).get(0)!;
    const sink = await dir.openFile(file("f", content.byteLength), 3000, p.prefix);
    await sink.write(content.subarray(3000));
    expect(existsSync(join(root, "f"))).toBe(false);
    const commit = await sink.finish(content.byteLength, await digest(content));
    expect(existsSync(join(root, "f"))).toBe(false);
    await commit.sync();
    await commit.publish();
    expect(new Uint8Array(await readFile(join(root, "f")))).toEqual(content);
    expect(existsSync(join(root, "f.xfer-part"))).toBe(false);
  });

  test("a hash mismatch leaves nothing under the final name", async () => {
    const dir = new ReceiveDir(root, { overwrite: false });
    await dir.prepare([file("f", 3)], { resume: true });
    const sink = await dir.openFile(file("f", 3), 0, null);
    await sink.write(new Uint8Array([1, 2, 3]));
    const err = await sink.finish(3, "0".repeat(64)).catch((e: unknown) => e);
    expect((err as XferError).code).toBe("integrity");
    expect(existsSync(join(root, "f"))).toBe(false);
    expect(existsSync(join(root, "f.xfer-part"))).toBe(false);
  });

  test("more bytes than offered is a protocol error", async () => {
    const dir = new ReceiveDir(root, { overwrite: false });
    const sink = await dir.openFile(file("f", 2), 0, null);
    await expect(sink.write(new Uint8Array(3))).rejects.toThrow(/more than the 2 bytes/);
    await sink.abandon();
  });
});

describe("safety", () => {
  test("unsafe names are refused before anything is written", async () => {
    const dir = new ReceiveDir(root, { overwrite: false });
    expect(await codeOf(dir.prepare([file("ok", 1), file("../evil", 1)], { resume: true }))).toBe("unsafe-name");
    expect(existsSync(join(root, "ok.xfer-part"))).toBe(false);
  });

  test("a symlinked folder inside the root is not followed", async () => {
    const outside = await mkdtemp(join(tmpdir(), "xfer-out-"));
    await symlink(outside, join(root, "link"));
    const dir = new ReceiveDir(root, { overwrite: false });
    expect(await codeOf(dir.prepare([file("link/x", 1)], { resume: true }))).toBe("unsafe-name");
    expect(await codeOf(dir.openFile(file("link/x", 1), 0, null))).toBe("unsafe-name");
    await rm(outside, { recursive: true });
  });

  test("a symlink planted as the part file is not written through", async () => {
    const victim = join(root, "victim");
    await writeFile(victim, "keep");
    await symlink(victim, join(root, "f.xfer-part"));
    const dir = new ReceiveDir(root, { overwrite: false });
    await expect(dir.openFile(file("f", 1), 0, null)).rejects.toThrow();
    expect(await readFile(victim, "utf8")).toBe("keep");
  });

  test("an existing file of another size is refused without --overwrite, replaced with it", async () => {
    await writeFile(join(root, "f"), "old");
    expect(await codeOf(new ReceiveDir(root, { overwrite: false }).prepare([file("f", 10)], { resume: true }))).toBe(
      "exists",
    );
    const p = (await new ReceiveDir(root, { overwrite: true }).prepare([file("f", 10)], { resume: true })).get(0)!;
    expect(p.accepted).toMatchObject({ offset: 0, existing: false });
  });

  test("an existing file of the same size is offered for an identity check without revealing its hash", async () => {
    await writeFile(join(root, "f"), "abc");
    const p = (await new ReceiveDir(root, { overwrite: false }).prepare([file("f", 3)], { resume: true })).get(0)!;
    expect(p.accepted).toEqual({ index: 0, offset: 3, existing: true });
    expect(await p.existingHash?.()).toBe(await digest(new TextEncoder().encode("abc")));
  });

  test("a datagram session's prepare does not read part files (no resume, no hashing)", async () => {
    await ourPart("f", new TextEncoder().encode("abc"));
    const p = (await new ReceiveDir(root, { overwrite: false }).prepare([file("f", 3)], { resume: false })).get(0)!;
    expect(p.accepted).toEqual({ index: 0, offset: 0, existing: false });
  });

  test("an offer the disk cannot hold is refused before anything is created", async () => {
    const huge: ManifestEntry = { path: "sub", kind: "dir", size: 0, mode: 0o755, mtimeMs: 0 };
    const dir = new ReceiveDir(root, { overwrite: false });
    const err = await dir.prepare([huge, file("sub/big", 2 ** 52)], { resume: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "disk-full" });
    expect(String((err as Error).message)).toContain("not enough space");
    expect(await readdir(root)).toEqual([]);
  });

  test("folder modes and times go only to folders this session created, through a handle", async () => {
    const dir = new ReceiveDir(root, { overwrite: false });
    const entry = (path: string): ManifestEntry => ({ path, kind: "dir", size: 0, mode: 0o750, mtimeMs: 1e12 });
    await mkdir(join(root, "old"), { mode: 0o755 });
    expect(await dir.makeDir(entry("old"))).toBe(false);
    expect(await dir.makeDir(entry("new"))).toBe(true);
    await dir.finishDirs([entry("new")]);
    expect((await stat(join(root, "new"))).mode & 0o777).toBe(0o750);
    expect((await stat(join(root, "new"))).mtimeMs).toBe(1e12);
    expect((await stat(join(root, "old"))).mode & 0o777).toBe(0o755);
  });

  test.if(process.platform === "linux")(
    "a folder swapped for a link after the checks is caught when opening",
    async () => {
      const outside = await mkdtemp(join(tmpdir(), "xfer-outside-"));
      const dir = new ReceiveDir(root, { overwrite: false });
      await mkdir(join(root, "d"));
      await symlink(outside, join(root, "swapped"));
      // openInsideSync is what every open goes through: a path through a link lands outside and is refused.
      await expect(
        dir.openFd("swapped/x", constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600),
      ).rejects.toMatchObject({
        code: "unsafe-name",
      });
      expect(await readdir(outside)).toEqual([]);
      await rm(outside, { recursive: true });
    },
  );

  test.if(process.platform === "linux")(
    "a folder swapped for a link after a file was opened in it is caught at the next file's open",
    async () => {
      const outside = await mkdtemp(join(tmpdir(), "xfer-outside-"));
      const dir = new ReceiveDir(root, { overwrite: false });
      await mkdir(join(root, "d"));
      const first = await dir.openFile(file("d/a", 1), 0, null);
      await first.write(new Uint8Array(1));
      await (await first.finish(1, await digest(new Uint8Array(1)))).publish();
      // The folder was seen and remembered as a real folder; it is a link now.
      await rm(join(root, "d"), { recursive: true });
      await symlink(outside, join(root, "d"));
      expect(await codeOf(dir.openFile(file("d/b", 1), 0, null))).toBe("unsafe-name");
      expect(await readdir(outside)).toEqual([]);
      await rm(outside, { recursive: true });
    },
  );
  test("a hard link planted as the part file is refused", async () => {
    const victim = join(root, "victim");
    await writeFile(victim, "keep");
    await link(victim, join(root, "f.xfer-part"));
    const dir = new ReceiveDir(root, { overwrite: false });
    await expect(dir.openFile(file("f", 1), 0, null)).rejects.toMatchObject({ code: "unsafe-name" });
    expect(await readFile(victim, "utf8")).toBe("keep");
  });

  test("a file where a folder is offered is refused", async () => {
    await writeFile(join(root, "d"), "x");
    const dirEntry: ManifestEntry = { path: "d", kind: "dir", size: 0, mode: 0o755, mtimeMs: 0 };
    expect(await codeOf(new ReceiveDir(root, { overwrite: false }).prepare([dirEntry], { resume: true }))).toBe(
      "exists",
    );
    await mkdir(join(root, "e"));
    await new ReceiveDir(root, { overwrite: false }).makeDir({ ...dirEntry, path: "e" });
  });
});

describe("parts are ours", () => {
  const userPart = "notes.txt.xfer-part";
  const keep = "the user's own file, not a part of ours";

  test("a user's own part is refused for that one file: never hashed, cut or written, and it says why", async () => {
    await writeFile(join(root, userPart), keep);
    const dir = new ReceiveDir(root, { overwrite: false });
    const entries = [file("notes.txt", 100), file("other.txt", 5)];
    const refusals = await dir.refusals(entries);
    expect([...refusals.keys()]).toEqual([0]);
    expect(refusals.get(0)).toMatchObject({ code: "exists" });
    expect(refusals.get(0)?.message).toContain("was not made by this receiver");
    // A sender that cannot take a refusal per file gets the whole offer refused, for both kinds of session.
    for (const resume of [true, false]) {
      const err = await dir.prepare(entries, { resume }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "exists" });
    }
    const taken = await dir.prepare(entries, { resume: true, refused: new Set([0]) });
    expect([...taken.keys()]).toEqual([1]);
    await expect(dir.openFile(file("notes.txt", 100), 0, null)).rejects.toMatchObject({ code: "exists" });
    await expect(dir.openPlaced(file("notes.txt", 100))).rejects.toMatchObject({ code: "exists" });
    expect(await readFile(join(root, userPart), "utf8")).toBe(keep);
  });

  test("a part of ours whose file was replaced by a user's (same name, even a reused inode) is not ours any more", async () => {
    await ourPart("notes.txt", new Uint8Array(10));
    await rm(join(root, userPart));
    await Bun.sleep(3); // birth times are compared in whole ms
    await writeFile(join(root, userPart), keep);
    const err = await new ReceiveDir(root, { overwrite: false })
      .prepare([file("notes.txt", 100)], { resume: true })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "exists" });
    expect(await readFile(join(root, userPart), "utf8")).toBe(keep);
  });

  test("offered names inside the receiver's record folder are refused", async () => {
    for (const path of [".xfer", ".xfer/parts-1-00.log"])
      expect(await codeOf(new ReceiveDir(root, { overwrite: false }).prepare([file(path, 1)], { resume: true }))).toBe(
        "unsafe-name",
      );
  });

  test("the record goes once no part of ours is left; a published file leaves none", async () => {
    const dir = new ReceiveDir(root, { overwrite: false });
    const content = new TextEncoder().encode("hello");
    const sink = await dir.openFile(file("a", 5), 0, null);
    await sink.write(content);
    const commit = await sink.finish(5, await digest(content));
    await commit.sync();
    await commit.publish();
    expect(existsSync(join(root, ".xfer"))).toBe(true);
    dir.settle();
    expect(await readdir(root)).toEqual(["a"]);
  });

  test("abandoned parts of ours older than the limit go, with their missing ranges; a user's and recent ones stay", async () => {
    await ourPart("old.bin", new Uint8Array(1000));
    await writeFile(join(root, "old.bin.xfer-part.missing.json"), "{}");
    await ourPart("new.bin", new Uint8Array(10));
    await writeFile(join(root, userPart), keep);
    const days = (n: number) => n * 86_400_000;
    const old = new Date(Date.now() - days(8));
    for (const name of ["old.bin.xfer-part", userPart]) await utimes(join(root, name), old, old);
    const removed = new ReceiveDir(root, { overwrite: false }).removeAbandoned(days(7));
    expect(removed).toEqual({ files: 1, bytes: 1000 });
    expect((await readdir(root)).sort()).toEqual([".xfer", "new.bin.xfer-part", userPart]);
    expect(await readFile(join(root, userPart), "utf8")).toBe(keep);
    // What is left is still ours, and resumes.
    const p = (await new ReceiveDir(root, { overwrite: false }).prepare([file("new.bin", 20)], { resume: true })).get(
      0,
    );
    expect(p?.accepted.offset).toBe(10);
  });
});

describe("the stream path's descriptor", () => {
  test("is closed once: discarding a published file leaves the next file's descriptor alone", async () => {
    const dir = new ReceiveDir(root, { overwrite: false });
    const bytes = new TextEncoder().encode("first");
    const first = await dir.openFile(file("a", bytes.byteLength), 0, null);
    await first.write(bytes);
    const commit = await first.finish(bytes.byteLength, await digest(bytes));
    await commit.publish();
    // The descriptor number `a` had is free now, and the next open is likely to get it back.
    const second = await dir.openFile(file("b", 6), 0, null);
    await commit.discard();
    await second.write(new TextEncoder().encode("second"));
    await (await second.finish(6, await digest(new TextEncoder().encode("second")))).publish();
    expect(await readFile(join(root, "a"), "utf8")).toBe("first");
    expect(await readFile(join(root, "b"), "utf8")).toBe("second");
  });
});

describe("modes", () => {
  test("each file gets exactly the offered permission bits, whatever the umask; a part is never writable by others", async () => {
    const modes = [0o644, 0o755, 0o600, 0o444, 0o666, 0o700, 0o640, 0o777, 0o000, 0o2755];
    const was = process.umask();
    try {
      for (const umask of [0o022, 0o077, 0o000]) {
        process.umask(umask);
        const dir = new ReceiveDir(root, { overwrite: false });
        for (const mode of modes) {
          const name = `m${mode.toString(8)}-${umask.toString(8)}`;
          const sink = await dir.openFile({ ...file(name, 1), mode }, 0, null);
          expect((await stat(join(root, `${name}.xfer-part`))).mode & 0o022).toBe(0);
          await sink.write(new Uint8Array(1));
          await (await sink.finish(1, await digest(new Uint8Array(1)))).publish();
          expect({ name, mode: (await stat(join(root, name))).mode & 0o7777 }).toEqual({ name, mode: mode & 0o777 });
        }
      }
    } finally {
      process.umask(was);
    }
  });
});
