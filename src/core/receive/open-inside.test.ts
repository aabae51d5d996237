import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { closeSync, constants, fstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { realpath } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openInsideSync } from "./open-inside.ts";

let root: string;
let outside: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "xfer-oi-"));
  outside = mkdtempSync(join(tmpdir(), "xfer-oi-out-"));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

const NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;

/** Open, report the inode, close. */
async function openIt(rel: string, flags: number): Promise<number> {
  const fd = openInsideSync(await realpath(root), join(root, rel), rel, flags, 0o600);
  const ino = fstatSync(fd).ino;
  closeSync(fd);
  return ino;
}

describe("openInsideSync", () => {
  test("creates a file inside the root, and O_EXCL refuses a second creation", async () => {
    mkdirSync(join(root, "d"));
    expect(await openIt("d/f", NEW)).toBeGreaterThan(0);
    expect(readdirSync(join(root, "d"))).toEqual(["f"]);
    await expect(openIt("d/f", NEW)).rejects.toMatchObject({ code: "EEXIST" });
  });

  test("a link at the last step is not followed", async () => {
    symlinkSync(join(outside, "target"), join(root, "l"));
    await expect(openIt("l", constants.O_WRONLY | constants.O_CREAT)).rejects.toMatchObject({ code: "ELOOP" });
    expect(readdirSync(outside)).toEqual([]);
  });

  test.if(process.platform === "linux")(
    "a folder on the way that leads outside is refused, and what the open created there is removed",
    async () => {
      symlinkSync(outside, join(root, "swapped"));
      await expect(openIt("swapped/x", NEW)).rejects.toMatchObject({ code: "unsafe-name" });
      expect(readdirSync(outside)).toEqual([]);
    },
  );
});
