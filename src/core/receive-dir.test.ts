import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
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
        const prepared = await new ReceiveDir(root, { overwrite: false }).prepare([file("f.bin", content.byteLength)]);
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
    const p = (await new ReceiveDir(root, { overwrite: false }).prepare([file("f", 40)])).get(0)!;
    expect(p.accepted.offset).toBe(40);
  });

  test("a continued write produces the whole file's hash and publishes atomically", async () => {
    const content = crypto.getRandomValues(new Uint8Array(10_000));
    await writeFile(join(root, "f.xfer-part"), content.subarray(0, 3000));
    const dir = new ReceiveDir(root, { overwrite: false });
    const p = (await dir.prepare([file("f", content.byteLength)])).get(0)!;
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
    await dir.prepare([file("f", 3)]);
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
    expect(await codeOf(dir.prepare([file("ok", 1), file("../evil", 1)]))).toBe("unsafe-name");
    expect(existsSync(join(root, "ok.xfer-part"))).toBe(false);
  });

  test("a symlinked folder inside the root is not followed", async () => {
    const outside = await mkdtemp(join(tmpdir(), "xfer-out-"));
    await symlink(outside, join(root, "link"));
    const dir = new ReceiveDir(root, { overwrite: false });
    expect(await codeOf(dir.prepare([file("link/x", 1)]))).toBe("unsafe-name");
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
    expect(await codeOf(new ReceiveDir(root, { overwrite: false }).prepare([file("f", 10)]))).toBe("exists");
    const p = (await new ReceiveDir(root, { overwrite: true }).prepare([file("f", 10)])).get(0)!;
    expect(p.accepted).toMatchObject({ offset: 0, existing: false });
  });

  test("an existing file of the same size is offered for an identity check", async () => {
    await writeFile(join(root, "f"), "abc");
    const p = (await new ReceiveDir(root, { overwrite: false }).prepare([file("f", 3)])).get(0)!;
    expect(p.accepted).toMatchObject({
      offset: 3,
      existing: true,
      prefixHash: await digest(new TextEncoder().encode("abc")),
    });
  });

  test("a file where a folder is offered is refused", async () => {
    await writeFile(join(root, "d"), "x");
    const dirEntry: ManifestEntry = { path: "d", kind: "dir", size: 0, mode: 0o755, mtimeMs: 0 };
    expect(await codeOf(new ReceiveDir(root, { overwrite: false }).prepare([dirEntry]))).toBe("exists");
    await mkdir(join(root, "e"));
    await new ReceiveDir(root, { overwrite: false }).makeDir({ ...dirEntry, path: "e" });
  });
});
