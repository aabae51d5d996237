import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { constants, existsSync } from "node:fs";
import { link, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import type { XferError } from "./errors.ts";
import { newHasher } from "./hashing.ts";
import type { ManifestEntry } from "./protocol/messages.ts";
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
        await writeFile(join(root, "f.bin.xfer-part"), part);
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
    await writeFile(join(root, "f.xfer-part"), new Uint8Array(100));
    const p = (await new ReceiveDir(root, { overwrite: false }).prepare([file("f", 40)], { resume: true })).get(0)!;
    expect(p.accepted.offset).toBe(40);
  });

  test("a continued write produces the whole file's hash and publishes atomically", async () => {
    const content = crypto.getRandomValues(new Uint8Array(10_000));
    await writeFile(join(root, "f.xfer-part"), content.subarray(0, 3000));
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
  const codeOf = async (p: Promise<unknown>) => ((await p.catch((e: unknown) => e)) as XferError).code;

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
    await writeFile(join(root, "f.xfer-part"), "abc");
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
      // openInside is what every open goes through: a path through a link lands outside and is refused.
      await expect(
        dir.open("swapped/x", constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600),
      ).rejects.toMatchObject({
        code: "unsafe-name",
      });
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
