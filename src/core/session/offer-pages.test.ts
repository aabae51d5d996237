import { describe, expect, test } from "bun:test";
import type { ManifestEntry } from "../protocol/messages.ts";
import { MAX_PAGES_HELD, OfferPages } from "./offer-pages.ts";

const file = (path: string, size: number | null = 1): ManifestEntry => ({
  path,
  kind: "file",
  size,
  mode: 0o644,
  mtimeMs: 0,
});
const dir = (path: string): ManifestEntry => ({ path, kind: "dir", size: 0, mode: 0o755, mtimeMs: 0 });
const head = (entries: number, files: number, bytes: number | null) =>
  ({ type: "offer-head", entries, files, bytes }) as const;

describe("OfferPages: what the pages must add up to", () => {
  test("pages that meet the head, then its end", () => {
    const p = new OfferPages<string>(head(3, 2, 5));
    p.page(0, [dir("d"), file("d/a", 2)]);
    p.page(2, [file("d/b", 3)]);
    expect(p.complete).toBe(false);
    p.end();
    expect(p.complete).toBe(true);
    expect(p.offered).toBe(3);
  });

  test.each([
    ["a page that skips entries", (p: OfferPages<string>) => p.page(1, [file("a")]), "starts at entry #1, expected #0"],
    [
      "more entries than announced",
      (p: OfferPages<string>) => p.page(0, [file("a"), file("b"), dir("c"), dir("e")]),
      "more entries than the 3",
    ],
    [
      "more files than announced",
      (p: OfferPages<string>) => p.page(0, [file("a"), file("b"), file("c")]),
      "more files than the 2",
    ],
    ["more bytes than announced", (p: OfferPages<string>) => p.page(0, [file("a", 9)]), "more than the 5 bytes"],
    [
      "a file of unknown size in a sized offer",
      (p: OfferPages<string>) => p.page(0, [file("a", null)]),
      "more than the 5 bytes",
    ],
    ["an end before every entry", (p: OfferPages<string>) => p.end(), "ended with 0 entries"],
    [
      "an end with fewer bytes than announced",
      (p: OfferPages<string>) => {
        p.page(0, [dir("d"), file("d/a", 1), file("d/b", 1)]);
        p.end();
      },
      "ended with 3 entries, 2 files and 2 bytes",
    ],
    [
      "entries after the end",
      (p: OfferPages<string>) => {
        p.page(0, [dir("d"), file("d/a", 2), file("d/b", 3)]);
        p.end();
        p.page(3, [file("x")]);
      },
      "after the end",
    ],
  ])("a total that lies: %s is a protocol error", (_, act, message) => {
    const p = new OfferPages<string>(head(3, 2, 5));
    expect(() => act(p)).toThrow(expect.objectContaining({ code: "protocol" }));
    expect(() => act(new OfferPages<string>(head(3, 2, 5)))).toThrow(message);
  });

  test("an unknown total takes a file of unknown size, and needs one", () => {
    const p = new OfferPages<string>(head(1, 1, null));
    p.page(0, [file("-", null)]);
    p.end();
    const q = new OfferPages<string>(head(1, 1, null));
    q.page(0, [file("a", 3)]);
    expect(() => q.end()).toThrow("its head announced 1, 1 and unknown");
  });
});

describe("OfferPages: the pages held", () => {
  test("files in offer order, each once; a page is forgotten once its files are over", () => {
    const p = new OfferPages<string>(head(4, 4, 4));
    const one = p.page(0, [file("a"), file("b")]);
    p.checked(one, "one", 2);
    const two = p.page(2, [file("c"), file("d")]);
    p.checked(two, "two", 1);
    expect(p.start(1)).toBe(one);
    expect(p.start(0)).toBeUndefined();
    expect(p.startedBefore(0)).toBe(true);
    p.fileEnded(one);
    // File 3 starts: page one (its file 0 never came) is over.
    expect(p.start(3)?.prepared).toBe("two");
    p.fileEnded(two);
    expect(p.start(4)).toBeUndefined();
  });

  test("a page whose files are all refused is not held; a sender far ahead of its files is refused", () => {
    const n = MAX_PAGES_HELD + 2;
    const p = new OfferPages<string>(head(n, n, n));
    const empty = p.page(0, [file("0")]);
    p.checked(empty, "nothing accepted", 0);
    for (let i = 1; i <= MAX_PAGES_HELD; i++) p.checked(p.page(i, [file(`${i}`)]), "x", 1);
    expect(() => p.page(MAX_PAGES_HELD + 1, [file("last")])).toThrow(`more than ${MAX_PAGES_HELD} pages ahead`);
  });
});
