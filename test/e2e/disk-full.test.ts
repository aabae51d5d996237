/** A receiver whose disk fills up mid-file: clear errors on both sides, and nothing already written is lost. */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run, sendAndWait, startReceiver, tempDir } from "../helpers/cli.ts";
import { tcpProxy } from "../helpers/tools.ts";

/** A 2 MiB tmpfs is a real full disk; mounting needs root, which CI has. */
function mountSmallDisk(at: string, size = "2m"): boolean {
  return spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", at]).status === 0;
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

  test("the disk fills mid-file (someone else's write): exit 6 there, 3 here, part kept; once space is freed the same command resumes", async () => {
    await using src = await tempDir();
    await using mnt = await tempDir();
    const disk = join(mnt.path, "disk");
    await mkdir(disk);
    expect(mountSmallDisk(disk, "8m")).toBe(true);
    try {
      const content = new Uint8Array(6 * 1024 * 1024);
      for (let i = 0; i < content.length; i += 4096) content[i] = i >> 12;
      await writeFile(join(src.path, "big.bin"), content);
      const recv = await startReceiver(disk);
      // A slow path (4 MB/s), so the space is gone before the file is complete.
      const path = await tcpProxy(recv.port, 4 << 20);
      const sender = run(["send", "--json", join(src.path, "big.bin"), `127.0.0.1:${path.port}`]);
      // The offer fits; then another program takes the space while the file arrives.
      await recv.waitFor((e) => e.event === "file-start");
      await writeFile(join(disk, "filler"), new Uint8Array(5 * 1024 * 1024)).catch(() => {});
      expect(await sender.exited).toBe(3);
      path.close();
      expect(String(sender.events.find((e) => e.event === "error")?.message)).toContain("no space left");
      expect(await recv.waitFor((e) => e.event === "error")).toMatchObject({ code: "disk-full", exitCode: 6 });
      expect(existsSync(join(disk, "big.bin"))).toBe(false);
      const kept = (await stat(join(disk, "big.bin.xfer-part"))).size;
      expect(kept).toBeGreaterThan(0);
      await rm(join(disk, "filler"));
      const again = await sendAndWait([join(src.path, "big.bin"), `127.0.0.1:${recv.port}`]);
      expect(again.code).toBe(0);
      expect(Number(again.events.find((e) => e.event === "file-done")?.resumedFrom)).toBeGreaterThan(0);
      expect(Buffer.compare(await readFile(join(disk, "big.bin")), Buffer.from(content))).toBe(0);
      recv.proc.kill();
      await recv.exited;
    } finally {
      spawnSync("umount", [disk]);
      await rm(disk, { recursive: true, force: true });
    }
  }, 30_000);
});
