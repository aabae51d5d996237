/** A receiver whose disk fills up mid-file: clear errors on both sides, and nothing already written is lost. */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run, sendAndWait, startReceiver, tempDir } from "../helpers/cli.ts";

/** A 2 MiB tmpfs is a real full disk; mounting needs root, which CI has. */
function mountSmallDisk(at: string): boolean {
  return spawnSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", at]).status === 0;
}

const canMount = process.getuid?.() === 0 && process.platform === "linux";

describe.if(canMount)("disk full", () => {
  test("an offer larger than the free space is refused up front: nothing created, exit 6 there, 4 here", async () => {
    await using src = await tempDir();
    await using mnt = await tempDir();
    const disk = join(mnt.path, "disk");
    await mkdir(disk);
    expect(mountSmallDisk(disk)).toBe(true);
    try {
      await mkdir(join(src.path, "tree/sub"), { recursive: true });
      await writeFile(join(src.path, "tree/sub/big.bin"), new Uint8Array(3 * 1024 * 1024).fill(7));
      const recv = await startReceiver(disk, ["--once"]);
      const sent = await sendAndWait([join(src.path, "tree"), `127.0.0.1:${recv.port}`]);
      expect(await recv.exited).toBe(6);
      expect(recv.events.find((e) => e.event === "error")).toMatchObject({ code: "disk-full" });
      expect(sent.code).toBe(4);
      expect(String(sent.events.find((e) => e.event === "error")?.message)).toContain("not enough space");
      expect(await readdir(disk)).toEqual([]);
    } finally {
      spawnSync("umount", [disk]);
      await rm(disk, { recursive: true, force: true });
    }
  }, 30_000);

  test("ENOSPC mid-stream (size unknown): exit 6 there, exit 3 on the sender with the reason, part file kept", async () => {
    await using mnt = await tempDir();
    const disk = join(mnt.path, "disk");
    await mkdir(disk);
    expect(mountSmallDisk(disk)).toBe(true);
    try {
      const recv = await startReceiver(disk, ["--once"]);
      const sender = run(["send", "--json", "-", "--name", "big.bin", `127.0.0.1:${recv.port}`], { stdin: "pipe" });
      sender.proc.stdin!.on("error", () => {}); // the sender may stop reading once the receiver fails
      sender.proc.stdin!.end(new Uint8Array(3 * 1024 * 1024).fill(7));
      const sent = { code: await sender.exited, events: sender.events };
      expect(await recv.exited).toBe(6);
      expect(recv.events.find((e) => e.event === "error")).toMatchObject({ code: "disk-full" });
      expect(sent.code).toBe(3);
      expect(String(sent.events.find((e) => e.event === "error")?.message)).toContain("no space left");
      expect(existsSync(join(disk, "big.bin"))).toBe(false);
      expect((await stat(join(disk, "big.bin.xfer-part"))).size).toBeGreaterThan(0);
    } finally {
      spawnSync("umount", [disk]);
      await rm(disk, { recursive: true, force: true });
    }
  }, 30_000);
});
