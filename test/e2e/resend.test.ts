/** Sending a tree the receiver already holds: said once, not once per file, and where it is. */
import { describe, expect, test } from "bun:test";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run, startReceiver, tempDir } from "../helpers/cli.ts";

describe("re-sending an identical tree", () => {
  test("the sender says how many files were already there, once; the receiver names its folder", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const tree = join(src.path, "tree");
    await mkdir(join(tree, "sub"), { recursive: true });
    for (let i = 0; i < 30; i++) await writeFile(join(tree, "sub", `f${i}`), `file ${i}\n`);
    for (const round of [1, 2]) {
      const recv = await startReceiver(dst.path, ["--once"]);
      const send = run(["send", tree, `127.0.0.1:${recv.port}`]);
      expect(await send.exited).toBe(0);
      expect(await recv.exited).toBe(0);
      const err = send.stderr();
      expect(err).not.toContain("resuming");
      if (round === 1) expect(err).toContain("30 file(s) verified");
      else {
        expect(err.match(/already there/g)?.length).toBe(1);
        expect(err).toContain("30 file(s) already there");
        expect(err).not.toContain("verified");
      }
      expect(recv.events.find((e) => e.event === "done")).toMatchObject({ files: 30, failed: 0, savedIn: dst.path });
    }
  });
});
