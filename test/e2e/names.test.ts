/**
 * Names that differ only in case or Unicode normalisation, through the real CLI: kept side by side
 * where the receiving filesystem tells them apart, refused one by one where it does not. The second
 * case runs on a real case-insensitive volume, an exFAT image mounted through FUSE; where that
 * cannot be set up (not root, no mkfs.exfat or FUSE), the test is skipped and says why.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sendAndWait, startReceiver, tempDir } from "../helpers/cli.ts";

const KERNEL_NAMES = ["xt_connmark.h", "xt_CONNMARK.h"];
const NFC = "caf\u00e9.txt";
const NFD = "cafe\u0301.txt";

async function makeTree(root: string): Promise<string> {
  const tree = join(root, "tree");
  await mkdir(tree);
  for (const n of [...KERNEL_NAMES, NFC, NFD, "other.txt"]) await writeFile(join(tree, n), `content of ${n}\n`);
  return tree;
}

/** Whether `dir` folds case, found out with two real files (independently of the code under test). */
function foldsCase(dir: string): boolean {
  writeFileSync(join(dir, "casecheck"), "x");
  return existsSync(join(dir, "CASECHECK"));
}

describe("names differing only in case or normalisation", () => {
  test("arrive side by side where the receiving filesystem tells them apart", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    if (foldsCase(src.path)) throw new Error(`${src.path} folds case: this test needs a case-sensitive temp folder`);
    const tree = await makeTree(src.path);
    const recv = await startReceiver(dst.path, ["--once"]);
    const sent = await sendAndWait([tree, `127.0.0.1:${recv.port}`]);
    expect(sent.code).toBe(0);
    expect(await recv.exited).toBe(0);
    for (const n of [...KERNEL_NAMES, NFC, NFD, "other.txt"])
      expect(await readFile(join(dst.path, "tree", n), "utf8")).toBe(`content of ${n}\n`);
  });

  describe("on a case-insensitive volume (exFAT)", () => {
    const volume = mountExfat();
    afterAll(() => volume.cleanup());

    test.skipIf(volume.why !== "")(
      `only the colliding file is refused, with its reason; the rest arrive${volume.why ? ` (skipped: ${volume.why})` : ""}`,
      async () => {
        const mountPoint = volume.mountPoint;
        expect(foldsCase(mountPoint)).toBe(true);
        await using src = await tempDir();
        const tree = await makeTree(src.path);
        const dest = join(mountPoint, "in");
        const recv = await startReceiver(dest, ["--once"]);
        const sent = await sendAndWait([tree, `127.0.0.1:${recv.port}`]);
        // 4: some files were refused.
        expect(sent.code).toBe(4);
        expect(await recv.exited).toBe(4);
        const refused = sent.events.filter((e) => e.event === "file-failed");
        expect(refused.map((e) => e.path)).toEqual(["tree/xt_connmark.h"]);
        expect(refused[0]).toMatchObject({ code: "name-collision" });
        expect(String(refused[0]!.message)).toContain("xt_CONNMARK.h");
        // The first spelling offered (sorted order) arrived intact, and so did everything else.
        expect(await readFile(join(dest, "tree", "xt_CONNMARK.h"), "utf8")).toBe("content of xt_CONNMARK.h\n");
        for (const n of [NFC, NFD, "other.txt"])
          expect(await readFile(join(dest, "tree", n), "utf8")).toBe(`content of ${n}\n`);
        expect(readdirSync(join(dest, "tree")).sort()).toEqual([NFD, NFC, "other.txt", "xt_CONNMARK.h"].sort());
        const done = recv.events.find((e) => e.event === "done");
        expect(done).toMatchObject({ failed: 1 });
      },
    );
  });
});

/** A fresh 32 MiB exFAT volume mounted through FUSE, or why there is none. */
function mountExfat(): { mountPoint: string; why: string; cleanup: () => void } {
  const work = join("/tmp", `xfer-exfat-${process.pid}`);
  const mountPoint = join(work, "mnt");
  const image = join(work, "vol.img");
  let why = process.getuid?.() === 0 ? "" : "mounting a test volume needs root";
  const step = (cmd: string, args: string[]) => {
    if (why) return "";
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    if (r.status !== 0) why = `${cmd} failed: ${(r.stderr || r.error?.message || "").trim()}`;
    return r.stdout?.trim() ?? "";
  };
  if (!why) mkdirSync(mountPoint, { recursive: true });
  step("truncate", ["-s", "32M", image]);
  step("mkfs.exfat", [image]);
  const loop = step("losetup", ["-f", "--show", image]);
  step("mount.exfat-fuse", [loop, mountPoint]);
  const mounted = !why;
  if (why) console.warn(`exFAT case skipped: ${why}`);
  return {
    mountPoint,
    why,
    cleanup: () => {
      if (mounted) spawnSync("umount", [mountPoint]);
      if (loop) spawnSync("losetup", ["-d", loop]);
      spawnSync("rm", ["-rf", work]);
    },
  };
}
