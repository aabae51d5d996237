/** Symbolic links inside a sent tree travel as links; nothing makes a receiver link outside its folder. */
import { describe, expect, test } from "bun:test";
import { existsSync, lstatSync, readlinkSync } from "node:fs";
import { mkdir, readFile, symlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SESSION_PROTOCOL_VERSION } from "../../src/core/protocol/messages.ts";
import { sendAndWait, startReceiver, tempDir } from "../helpers/cli.ts";
import { offerMessages } from "../helpers/offer.ts";
import { sealedTalk } from "../helpers/sealed-client.ts";

describe("symbolic links", () => {
  test("links pointing inside the tree arrive as the same links; others are skipped with a warning", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const tree = join(src.path, "tree");
    await mkdir(join(tree, "a/b"), { recursive: true });
    await writeFile(join(tree, "a/file.txt"), "inside\n");
    await writeFile(join(src.path, "secret"), "outside\n");
    await symlink("a/file.txt", join(tree, "to-file"));
    await symlink("a", join(tree, "to-dir"));
    await symlink("../file.txt", join(tree, "a/b/up"));
    await symlink("../secret", join(tree, "escapes"));
    await symlink(join(tree, "a/file.txt"), join(tree, "absolute"));
    await symlink("missing", join(tree, "dangling"));
    // The folder holding a link keeps its time: links are made before folder times are set.
    await utimes(join(tree, "a/b"), 1_600_000_000, 1_600_000_000);
    const recv = await startReceiver(dst.path, ["--once"]);
    const sent = await sendAndWait([tree, `127.0.0.1:${recv.port}`]);
    expect(sent.code).toBe(0);
    expect(await recv.exited).toBe(0);
    const out = join(dst.path, "tree");
    for (const [link, target] of [
      ["to-file", "a/file.txt"],
      ["to-dir", "a"],
      ["a/b/up", "../file.txt"],
      ["dangling", "missing"],
    ]) {
      expect(lstatSync(join(out, link!)).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(out, link!))).toBe(target!);
    }
    expect(await readFile(join(out, "to-file"), "utf8")).toBe("inside\n");
    expect(Math.round(lstatSync(join(out, "a/b")).mtimeMs / 1000)).toBe(1_600_000_000);
    for (const skipped of ["escapes", "absolute"]) {
      expect(existsSync(join(out, skipped))).toBe(false);
      expect(
        sent.events.some(
          (e) => e.event === "warning" && String(e.message).includes(skipped) && String(e.message).includes("outside"),
        ),
      ).toBe(true);
    }
  });

  test("a hostile sender's link out of the folder is refused; the rest of its offer arrives", async () => {
    await using dst = await tempDir();
    const recv = await startReceiver(dst.path, ["--once"]);
    const bad = ["../../etc", "/etc/passwd", "a/../../x", "x/../../..", "C:/Windows", "..\\..\\x"];
    const replies = await sealedTalk(recv.port, [
      {
        type: "hello",
        protocol: "xfer",
        version: SESSION_PROTOCOL_VERSION,
        role: "sender",
        software: "hostile-test",
        features: ["refuse-entries"],
      },
      ...offerMessages([
        { path: "d", kind: "dir", size: 0, mode: 0o755, mtimeMs: 0 },
        ...bad.map((target, i) => ({ path: `d/l${i}`, kind: "symlink", size: 0, mode: 0o777, mtimeMs: 0, target })),
        { path: "d/ok", kind: "symlink", size: 0, mode: 0o777, mtimeMs: 0, target: "../d" },
      ]),
      { type: "done" },
    ]);
    const accept = replies.find((r) => r.type === "accept") as { refused: { index: number; code: string }[] };
    expect(accept.refused.map((r) => r.index)).toEqual(bad.map((_, i) => i + 1));
    expect(accept.refused.every((r) => r.code === "unsafe-name")).toBe(true);
    expect(replies.find((r) => r.type === "summary")).toMatchObject({ failed: bad.length });
    await recv.exited;
    expect(readlinkSync(join(dst.path, "d/ok"))).toBe("../d");
    for (let i = 0; i < bad.length; i++) expect(existsSync(join(dst.path, `d/l${i}`))).toBe(false);
  });

  test("without refuse-entries, an unsafe link refuses the whole offer and nothing is made", async () => {
    await using dst = await tempDir();
    const recv = await startReceiver(dst.path, ["--once"]);
    const replies = await sealedTalk(recv.port, [
      {
        type: "hello",
        protocol: "xfer",
        version: SESSION_PROTOCOL_VERSION,
        role: "sender",
        software: "old-or-hostile",
      },
      ...offerMessages([{ path: "l", kind: "symlink", size: 0, mode: 0o777, mtimeMs: 0, target: "../outside" }]),
    ]);
    expect(replies.map((r) => r.type)).toEqual(["hello", "reject"]);
    expect(replies[1]).toMatchObject({ code: "unsafe-name" });
    expect(await recv.exited).toBe(4);
    expect(await Array.fromAsync(new Bun.Glob("**/*").scan({ cwd: dst.path, dot: true }))).toEqual([]);
  });
});
