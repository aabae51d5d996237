/**
 * Trees whose offer spans several pages (XFER_PAGE_ENTRIES makes the sender's pages small), through
 * the real CLI on every transport: everything arrives, and a resume on a later page is exact.
 * udp-raw's datagram session offers in one message (docs/PROTOCOL.md §3): it must keep working.
 */
import { describe, expect, test } from "bun:test";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sendAndWait, startReceiver, tempDir } from "../helpers/cli.ts";
import { ourPart, randomBytes } from "../helpers/tools.ts";

const TRANSPORTS: [string, string[]][] = [
  ["tcp-stream", []],
  ["udp-reliable", ["--via", "udp-reliable"]],
  ["udp-raw", ["--via", "udp-raw", "--rate", "400mbit"]],
];
/** 106 entries (t, 5 folders, 100 files) in pages of 16: 7 pages. */
const PAGED = { env: { XFER_PAGE_ENTRIES: "16" } };
/** Files whose content starts with the bytes ourPart() writes (7s), so a part of them resumes. */
const RESUMED = ["t/d3/f05", "t/d4/f17"];

async function makeTree(root: string): Promise<string[]> {
  const names: string[] = [];
  for (let d = 0; d < 5; d++) {
    await mkdir(join(root, "t", `d${d}`), { recursive: true });
    for (let f = 0; f < 20; f++) {
      const name = `t/d${d}/f${String(f).padStart(2, "0")}`;
      const data = RESUMED.includes(name)
        ? Buffer.concat([Buffer.alloc(150_000, 7), randomBytes(50_000, d * 100 + f)])
        : randomBytes((d * 20 + f) * 37, d * 100 + f);
      await writeFile(join(root, name), data);
      names.push(name);
    }
  }
  return names;
}

async function expectSame(src: string, dst: string, names: string[]): Promise<void> {
  for (const name of names)
    expect(Buffer.compare(await readFile(join(dst, name)), await readFile(join(src, name))), name).toBe(0);
}

describe("an offer in several pages", () => {
  test.each(TRANSPORTS)(
    "%s: the whole tree arrives, verified",
    async (_, via) => {
      await using src = await tempDir();
      await using dst = await tempDir();
      const names = await makeTree(src.path);
      const recv = await startReceiver(dst.path, ["--once", ...via]);
      const sent = await sendAndWait([...via, join(src.path, "t"), `127.0.0.1:${recv.port}`], PAGED);
      expect(sent.code, sent.stderr).toBe(0);
      expect(await recv.exited).toBe(0);
      expect(recv.events.filter((e) => e.event === "file-done")).toHaveLength(names.length);
      expect(recv.events.find((e) => e.event === "offer")).toMatchObject({ files: 100, dirs: 6 });
      await expectSame(src.path, dst.path, names);
    },
    60_000,
  );

  test.each(TRANSPORTS.slice(0, 2))(
    "%s: parts on later pages resume exactly where they stopped",
    async (_, via) => {
      await using src = await tempDir();
      await using dst = await tempDir();
      const names = await makeTree(src.path);
      for (let d = 0; d < 5; d++) await mkdir(join(dst.path, "t", `d${d}`), { recursive: true });
      await ourPart(dst.path, RESUMED[0]!, 60_000);
      await ourPart(dst.path, RESUMED[1]!, 150_000);
      const recv = await startReceiver(dst.path, ["--once", ...via]);
      const sent = await sendAndWait([...via, join(src.path, "t"), `127.0.0.1:${recv.port}`], PAGED);
      expect(sent.code, sent.stderr).toBe(0);
      expect(await recv.exited).toBe(0);
      const resumed = Object.fromEntries(
        sent.events.filter((e) => e.event === "file-done").map((e) => [e.path, e.resumedFrom]),
      );
      expect(Object.keys(resumed)).toHaveLength(names.length);
      for (const name of names)
        expect(resumed[name], name).toBe(name === RESUMED[0] ? 60_000 : name === RESUMED[1] ? 150_000 : 0);
      await expectSame(src.path, dst.path, names);
    },
    60_000,
  );
});
