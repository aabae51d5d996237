/**
 * Parts carry a marker of ours (src/core/receive/part-record.ts), with the real CLI: a user's own
 * `*.xfer-part` survives real sends of that name on every transport, a resumed transfer leaves no
 * record behind, and parts of ours nobody came back to are removed at start, saying so.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { readdir, readFile, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sendAndWait, startReceiver, tempDir } from "../helpers/cli.ts";
import { ourPart } from "../helpers/tools.ts";

setDefaultTimeout(30_000);

describe("parts of ours, and a user's", () => {
  test.each(["tcp-stream", "udp-raw", "udp-reliable"])(
    "%s: a user's own notes.txt.xfer-part survives a real send of notes.txt, the rest arrives",
    async (via) => {
      await using src = await tempDir();
      await using dst = await tempDir();
      const own = crypto.getRandomValues(new Uint8Array(3000));
      await writeFile(join(dst.path, "notes.txt.xfer-part"), own);
      await writeFile(join(src.path, "notes.txt"), crypto.getRandomValues(new Uint8Array(9000)));
      await writeFile(join(src.path, "other.txt"), "other");
      const recv = await startReceiver(dst.path, ["--once", "--via", via]);
      const sent = await sendAndWait([
        "--via",
        via,
        join(src.path, "notes.txt"),
        join(src.path, "other.txt"),
        `127.0.0.1:${recv.port}`,
      ]);
      await recv.exited;
      expect(sent.code).not.toBe(0);
      // Both sides say why; udp-raw's whole offer is refused, and its sender hears the reject
      // although the --once receiver closes its socket right after sending it (exit 4, not a timeout).
      expect(JSON.stringify(sent.events)).toContain("was not made by this receiver");
      expect(JSON.stringify(recv.events)).toContain("was not made by this receiver");
      if (via === "udp-raw") expect(sent.code).toBe(4);
      expect(Buffer.compare(await readFile(join(dst.path, "notes.txt.xfer-part")), own)).toBe(0);
      expect(existsSync(join(dst.path, "notes.txt"))).toBe(false);
      // A sender that takes refusals per file (stream transports) still delivers the rest.
      if (via !== "udp-raw") expect(await readFile(join(dst.path, "other.txt"), "utf8")).toBe("other");
    },
  );

  test("a transfer resumed from a part of ours completes and leaves no record behind", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const content = new Uint8Array(50_000).fill(7);
    content.set(crypto.getRandomValues(new Uint8Array(30_000)), 20_000);
    await writeFile(join(src.path, "f.bin"), content);
    await ourPart(dst.path, "f.bin", 20_000);
    const recv = await startReceiver(dst.path, ["--once"]);
    const sent = await sendAndWait([join(src.path, "f.bin"), `127.0.0.1:${recv.port}`]);
    expect(sent.code, sent.stderr).toBe(0);
    expect(await recv.exited).toBe(0);
    expect(sent.events.find((e) => e.event === "file-done")).toMatchObject({ resumedFrom: 20_000 });
    expect(Buffer.compare(await readFile(join(dst.path, "f.bin")), content)).toBe(0);
    expect(await readdir(dst.path)).toEqual(["f.bin"]);
  });

  test("parts of ours untouched for longer than --prune-parts days are removed at start, in one line; a user's stay", async () => {
    await using dst = await tempDir();
    await ourPart(dst.path, "old.bin", 4096);
    await writeFile(join(dst.path, "mine.xfer-part"), "mine");
    const old = new Date(Date.now() - 8 * 86_400_000);
    for (const name of ["old.bin.xfer-part", "mine.xfer-part"]) await utimes(join(dst.path, name), old, old);

    const keeping = await startReceiver(dst.path, ["--prune-parts", "0"]);
    keeping.proc.kill();
    await keeping.exited;
    expect(existsSync(join(dst.path, "old.bin.xfer-part"))).toBe(true);

    const recv = await startReceiver(dst.path, ["--prune-parts", "7"]);
    recv.proc.kill();
    await recv.exited;
    const lines = recv.events.filter((e) => e.event === "warning" && String(e.message).includes("abandoned"));
    expect(lines).toHaveLength(1);
    expect(String(lines[0]?.message)).toContain("removed 1 abandoned part(s) (4.1 KB)");
    expect((await readdir(dst.path)).sort()).toEqual(["mine.xfer-part"]);
    expect(await readFile(join(dst.path, "mine.xfer-part"), "utf8")).toBe("mine");
  });
});
