/**
 * A real `xfer recv` against a hostile sender's paged offer: pages over the limits, totals that lie,
 * entries after the end, names repeated across pages. Each gets a clear error, and nothing lands.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdir } from "node:fs/promises";
import { MAX_PAGE_BYTES, MAX_PAGE_ENTRIES } from "../../src/core/protocol/messages.ts";
import { startReceiver, tempDir } from "../helpers/cli.ts";
import { fileEntry, HostilePeer, type Msg } from "./peer.ts";

setDefaultTimeout(20_000);

/** Plays `script` against a fresh receiver; returns what it answered, up to its error or reject. */
async function answers(script: (peer: HostilePeer) => Promise<void>): Promise<{ got: Msg[]; files: string[] }> {
  await using dst = await tempDir();
  const recv = await startReceiver(dst.path, ["--once"]);
  const peer = await HostilePeer.afterHello(recv.port);
  await script(peer);
  const got: Msg[] = [];
  for (let m = await peer.next(); m; m = await peer.next()) {
    got.push(m);
    if (m.type === "error" || m.type === "reject") break;
  }
  peer.destroy();
  await recv.exited;
  const files = (await readdir(dst.path, { recursive: true })).filter((f) => !f.startsWith(".xfer"));
  return { got, files };
}

const head = (entries: number, files: number, bytes: number | null): Msg => ({
  type: "offer-head",
  entries,
  files,
  bytes,
});
const page = (first: number, entries: Msg["entries"][]): Msg => ({ type: "offer-page", first, entries });

describe("a hostile sender's offer pages", () => {
  test("a page over the entry limit, or over the byte limit, is a protocol error", async () => {
    const many = Array.from({ length: MAX_PAGE_ENTRIES + 1 }, (_, i) => fileEntry(`f${i}`, 0));
    const tooMany = await answers(async (p) => {
      await p.send(head(many.length, many.length, 0));
      await p.send(page(0, many));
    });
    expect(tooMany.got.at(-1)).toMatchObject({ type: "error", code: "protocol" });
    expect(String(tooMany.got.at(-1)?.message)).toContain(`at most ${MAX_PAGE_ENTRIES} entries`);
    const long = Array.from({ length: 300 }, (_, i) => fileEntry(`${"n".repeat(4000)}${i}`.slice(-4000), 0));
    const tooBig = await answers(async (p) => {
      await p.send(head(long.length, long.length, 0));
      await p.send(page(0, long));
    });
    expect(String(tooBig.got.at(-1)?.message)).toContain(`more than ${MAX_PAGE_BYTES} bytes`);
    expect([...tooMany.files, ...tooBig.files]).toEqual([]);
  });

  test("a total that lies is a protocol error: more files than announced, or an end short of them", async () => {
    const more = await answers(async (p) => {
      await p.send(head(2, 1, 2));
      await p.send(page(0, [fileEntry("a", 1), fileEntry("b", 1)]));
    });
    expect(more.got.at(-1)).toMatchObject({ type: "error", code: "protocol" });
    expect(String(more.got.at(-1)?.message)).toContain("more files than the 1 its head announced");
    const short = await answers(async (p) => {
      await p.send(head(3, 3, 3));
      await p.send(page(0, [fileEntry("a", 1)]));
      await p.send({ type: "offer-end" });
    });
    expect(short.got.map((m) => m.type)).toEqual(["accept", "error"]);
    expect(String(short.got[1]?.message)).toContain("ended with 1 entries");
    expect([...more.files, ...short.files]).toEqual([]);
  });

  test("entries after the end, and done before it, are protocol errors", async () => {
    const after = await answers(async (p) => {
      await p.send(head(1, 1, 0));
      await p.send(page(0, [fileEntry("a", 0)]));
      await p.send({ type: "offer-end" });
      await p.send(page(1, [fileEntry("b", 0)]));
    });
    expect(after.got.map((m) => m.type)).toEqual(["accept", "error"]);
    expect(String(after.got[1]?.message)).toContain("after the end of its offer");
    const early = await answers(async (p) => {
      await p.send(head(2, 2, 0));
      await p.send(page(0, [fileEntry("a", 0)]));
      await p.send({ type: "done" });
    });
    expect(String(early.got.at(-1)?.message)).toContain("done before the end of its offer");
  });

  test("a name repeated on a later page refuses that page; files of earlier pages are not touched by it", async () => {
    const { got, files } = await answers(async (p) => {
      await p.offer([fileEntry("a", 0), fileEntry("b", 0), fileEntry("c", 0), fileEntry("a", 0)], 2);
    });
    expect(got.map((m) => m.type)).toEqual(["accept", "reject"]);
    expect(got[0]).toMatchObject({ first: 0 });
    expect(got[1]).toMatchObject({ code: "unsafe-name" });
    expect(String(got[1]?.message)).toContain("duplicate name");
    expect(files).toEqual([]);
  });
});
