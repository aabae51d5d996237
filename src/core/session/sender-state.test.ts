import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { LocalEntry } from "../manifest.ts";
import { OfferedEntries } from "../offered.ts";
import {
  type ControlMessage,
  FEATURE_RECEIVED,
  FEATURE_SYMLINKS,
  MAX_PAGE_BYTES,
  MAX_PAGE_ENTRIES,
} from "../protocol/messages.ts";
import { type OutgoingPage, SenderSession } from "./sender-state.ts";

const file = (path: string, size: number | null): LocalEntry => ({
  entry: { path, kind: "file", size, mode: 0o644, mtimeMs: 0 },
  source: size === null ? { kind: "stdin" } : { kind: "file", path: `/src/${path}` },
});
const dir = (path: string): LocalEntry => ({
  entry: { path, kind: "dir", size: 0, mode: 0o755, mtimeMs: 0 },
  source: { kind: "dir" },
});
const link = (path: string, target: string): LocalEntry => ({
  entry: { path, kind: "symlink", target, size: 0, mode: 0o777, mtimeMs: 0 },
  source: { kind: "link" },
});
const SENT = { bytes: 10, hash: "ab".repeat(32), resumedFrom: 0 };

/** d/, d/a (10 B), d/b (20 B), d/l -> a */
const TREE = [dir("d"), file("d/a", 10), file("d/b", 20), link("d/l", "a")];

/** Every page out (with the end), in order. */
function allPages(s: SenderSession): OutgoingPage[] {
  const pages: OutgoingPage[] = [];
  for (let p = s.nextPage(); p !== null; p = s.nextPage()) if ("json" in p) pages.push(p);
  return pages;
}

/** The whole offer paged out (one page for these trees), then the receiver's answer to it. */
function answer(s: SenderSession, msg: ControlMessage) {
  allPages(s);
  const [action] = s.onMessage(msg);
  if (action?.do !== "page") throw new Error(`expected a page plan, got ${JSON.stringify(action)}`);
  return action.plan;
}

function accepted(s: SenderSession, files = [1, 2].map((index) => ({ index, offset: 0, existing: false }))) {
  return answer(s, { type: "accept", first: 0, files, refused: [] });
}

describe("SenderSession: the offer", () => {
  test("links go only to a receiver that can make them; otherwise each is named as skipped", () => {
    const old = new SenderSession(OfferedEntries.of(TREE), []);
    expect(old.skipped).toEqual(["d/l"]);
    expect(allPages(old).map((p) => JSON.parse(p.json))).toEqual([
      { type: "offer-page", first: 0, entries: TREE.slice(0, 3).map((e) => e.entry) },
    ]);
    const modern = new SenderSession(OfferedEntries.of(TREE), [FEATURE_SYMLINKS]);
    expect(modern.skipped).toEqual([]);
    expect(JSON.parse(allPages(modern)[0]!.json)).toMatchObject({ entries: TREE.map((e) => e.entry) });
  });

  test("the head holds the whole tree's totals; after the pages comes the end, once", () => {
    const s = new SenderSession(OfferedEntries.of(TREE), [FEATURE_SYMLINKS]);
    expect(s.head()).toEqual({ type: "offer-head", entries: 4, files: 2, bytes: 30 });
    expect(s.nextPage()).toMatchObject({ first: 0, count: 4 });
    expect(s.nextPage()).toEqual({ type: "offer-end" });
    expect(s.nextPage()).toBeNull();
    expect(new SenderSession(OfferedEntries.of([file("-", null)]), []).head()).toMatchObject({ bytes: null });
  });

  test("property: pages cut at the entry and byte limits, and together they are the offer in order", () => {
    const entry = fc.oneof(
      fc.nat(9999).map((n) => file(`f/${n}`, n)),
      fc.string({ minLength: 1, maxLength: 4000 }).map((name) => file(name, 1)),
    );
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 3 * MAX_PAGE_ENTRIES }), (tree) => {
        const pages = allPages(new SenderSession(OfferedEntries.of(tree), []));
        const entries = pages.flatMap((p) => {
          const msg = JSON.parse(p.json);
          expect(Buffer.byteLength(p.json)).toBeLessThanOrEqual(MAX_PAGE_BYTES);
          expect(msg.entries.length).toBe(p.count);
          expect(p.count).toBeGreaterThan(0);
          expect(p.count).toBeLessThanOrEqual(MAX_PAGE_ENTRIES);
          return msg.entries;
        });
        expect(pages.map((p) => p.first)).toEqual(
          pages.map((_, i) => pages.slice(0, i).reduce((n, q) => n + q.count, 0)),
        );
        expect(entries).toEqual(tree.map((e) => e.entry));
      }),
      { numRuns: 25, seed: 14 },
    );
  });
});

describe("SenderSession: the accept", () => {
  test("plans the accepted files in offer order with their total; refused ones become failures", () => {
    const s = new SenderSession(OfferedEntries.of(TREE), [FEATURE_RECEIVED]);
    const plan = answer(s, {
      type: "accept",
      first: 0,
      files: [{ index: 1, offset: 4, existing: false }],
      refused: [{ index: 2, code: "exists", message: "'d/b' collides with 'd/B'" }],
    });
    expect(plan.files.map((f) => [f.index, f.accepted.offset])).toEqual([[1, 4]]);
    expect(s.totalBytes).toBe(30);
    expect(plan.notComing).toBe(20);
    expect(s.acknowledged).toBe(true);
    expect(plan.events).toEqual([
      {
        event: "file-failed",
        index: 2,
        path: "d/b",
        code: "exists",
        message: "receiver refused it: 'd/b' collides with 'd/B'",
      },
    ]);
    expect(s.failures).toHaveLength(1);
  });

  test("standard input makes the total unknown", () => {
    const s = new SenderSession(OfferedEntries.of([file("-", null)]), []);
    expect(accepted(s, [{ index: 0, offset: 0, existing: false }]).files).toHaveLength(1);
    expect(s.totalBytes).toBeNull();
  });

  test("a rejection keeps the receiver's code where the user can act on it", () => {
    const s = new SenderSession(OfferedEntries.of(TREE), []);
    expect(() => answer(s, { type: "reject", code: "busy", message: "another session" })).toThrow(
      expect.objectContaining({ code: "busy", message: "receiver refused: another session" }),
    );
    expect(() => answer(s, { type: "reject", code: "no-space", message: "full" })).toThrow(
      expect.objectContaining({ code: "rejected" }),
    );
    expect(() => s.onMessage({ type: "done" })).toThrow(expect.objectContaining({ code: "protocol" }));
  });

  test.each([
    ["a folder", [{ index: 0, offset: 0, existing: false }], "not a file of its page"],
    ["an index never offered", [{ index: 9, offset: 0, existing: false }], "not a file of its page"],
    ["a file twice", [1, 1, 2].map((index) => ({ index, offset: 0, existing: false })), "answered twice"],
    [
      "an offset past the end",
      [
        { index: 1, offset: 11, existing: false },
        { index: 2, offset: 0, existing: false },
      ],
      "claims 11 bytes",
    ],
    [
      "an 'existing' file of another size",
      [
        { index: 1, offset: 3, existing: true },
        { index: 2, offset: 0, existing: false },
      ],
      "claims 3 bytes",
    ],
    ["one file left unanswered", [{ index: 1, offset: 0, existing: false }], "did not answer for 'd/b'"],
  ])("an accept that names %s is a protocol error", (_, files, message) => {
    const s = new SenderSession(OfferedEntries.of(TREE), []);
    expect(() => accepted(s, files)).toThrow(expect.objectContaining({ code: "protocol" }));
    expect(() => accepted(new SenderSession(OfferedEntries.of(TREE), []), files)).toThrow(message);
  });

  test("a file both refused and accepted is a protocol error", () => {
    const s = new SenderSession(OfferedEntries.of(TREE), []);
    expect(() =>
      answer(s, {
        type: "accept",
        first: 0,
        files: [1, 2].map((index) => ({ index, offset: 0, existing: false })),
        refused: [{ index: 2, code: "exists", message: "x" }],
      }),
    ).toThrow("or one it refused");
  });
});

describe("SenderSession: pages answered one by one", () => {
  /** 2 pages: folder t and files t/0 … t/(MAX_PAGE_ENTRIES - 1) in the first, the last file in the second. */
  const BIG = [dir("t"), ...Array.from({ length: MAX_PAGE_ENTRIES }, (_, i) => file(`t/${i}`, 1))];
  const all = (first: number, end: number) =>
    Array.from({ length: end - first }, (_, i) => ({ index: first + i, offset: 0, existing: false })).filter(
      (f) => f.index > 0,
    );

  test("each answer plans its own page's files, in order; the offer is answered after the last", () => {
    const s = new SenderSession(OfferedEntries.of(BIG), []);
    const pages = allPages(s);
    expect(pages.map((p) => [p.first, p.count])).toEqual([
      [0, MAX_PAGE_ENTRIES],
      [MAX_PAGE_ENTRIES, 1],
    ]);
    const [one] = s.onMessage({ type: "accept", first: 0, files: all(0, MAX_PAGE_ENTRIES), refused: [] });
    expect(one?.do === "page" && one.plan.files.length).toBe(MAX_PAGE_ENTRIES - 1);
    expect(s.offerAnswered).toBe(false);
    const [two] = s.onMessage({
      type: "accept",
      first: MAX_PAGE_ENTRIES,
      files: [],
      refused: [{ index: MAX_PAGE_ENTRIES, code: "exists", message: "x" }],
    });
    expect(two?.do === "page" && two.plan.notComing).toBe(1);
    expect(s.offerAnswered).toBe(true);
  });

  test.each([
    ["the second page first", { first: MAX_PAGE_ENTRIES, files: [], refused: [] }, "expected the one at #0"],
    [
      "a file of the next page",
      { first: 0, files: all(0, MAX_PAGE_ENTRIES + 1), refused: [] },
      "not a file of its page",
    ],
    [
      "a refusal outside the page",
      { first: 0, files: all(0, MAX_PAGE_ENTRIES), refused: [{ index: MAX_PAGE_ENTRIES, code: "x", message: "" }] },
      "not one of its page",
    ],
  ])("an answer naming %s is a protocol error", (_, reply, message) => {
    const s = new SenderSession(OfferedEntries.of(BIG), []);
    allPages(s);
    expect(() => s.onMessage({ type: "accept", ...reply })).toThrow(message);
  });

  test("an answer to a page not sent, or a summary before the offer is answered, is a protocol error", () => {
    const s = new SenderSession(OfferedEntries.of(BIG), []);
    s.nextPage();
    s.onMessage({ type: "accept", first: 0, files: all(0, MAX_PAGE_ENTRIES), refused: [] });
    expect(() => s.onMessage({ type: "accept", first: MAX_PAGE_ENTRIES, files: [], refused: [] })).toThrow("not sent");
    expect(() => s.onMessage({ type: "summary", files: 0, bytes: 0, failed: 0 })).toThrow("before answering the offer");
  });
});

describe("SenderSession: verdicts while streaming", () => {
  test("success is what was confirmed file by file; the summary must agree", () => {
    const s = new SenderSession(OfferedEntries.of(TREE), []);
    accepted(s);
    s.sentFile(1, SENT);
    s.sentFile(2, SENT);
    expect(s.onMessage({ type: "file-ok", index: 1, skipped: false })).toEqual([
      { do: "emit", event: { event: "file-done", index: 1, path: "d/a", skipped: false, ...SENT } },
    ]);
    expect(s.onMessage({ type: "file-failed", index: 2, code: "hash-mismatch", message: "bad" })).toMatchObject([
      { do: "emit", event: { event: "file-failed", path: "d/b", code: "hash-mismatch" } },
    ]);
    expect(s.failures).toEqual([{ code: "hash-mismatch", message: "receiver: bad" }]);
    expect(s.onMessage({ type: "received", bytes: 30 })).toEqual([{ do: "acknowledge", bytes: 30 }]);
    expect(s.onMessage({ type: "summary", files: 1, bytes: 10, failed: 1 })).toEqual([
      { do: "finished", confirmed: 1 },
    ]);
  });

  test("a summary before every verdict, or claiming more than confirmed, is refused", () => {
    const early = new SenderSession(OfferedEntries.of(TREE), []);
    accepted(early);
    early.sentFile(1, SENT);
    expect(() => early.onMessage({ type: "summary", files: 999, bytes: 0, failed: 0 })).toThrow(
      "without a verdict for 1 file(s), e.g. 'd/a'",
    );
    const liar = new SenderSession(OfferedEntries.of(TREE), []);
    accepted(liar);
    liar.sentFile(1, SENT);
    liar.onMessage({ type: "file-ok", index: 1, skipped: false });
    expect(() => liar.onMessage({ type: "summary", files: 2, bytes: 0, failed: 0 })).toThrow(
      "claims 2 file(s) but confirmed 1",
    );
  });

  test("a verdict for a file not sent, or a second one, is a protocol error; a link may fail without data", () => {
    const s = new SenderSession(OfferedEntries.of(TREE), [FEATURE_SYMLINKS]);
    accepted(s);
    expect(() => s.onMessage({ type: "file-ok", index: 1, skipped: false })).toThrow("which was not sent");
    s.sentFile(1, SENT);
    s.onMessage({ type: "file-ok", index: 1, skipped: false });
    expect(() => s.onMessage({ type: "file-ok", index: 1, skipped: false })).toThrow("answered twice for 'd/a'");
    expect(s.onMessage({ type: "file-failed", index: 3, code: "unsafe-name", message: "outside" })).toHaveLength(1);
  });

  test("the receiver's error ends the session (its local failures as a failed peer); anything else is unexpected", () => {
    const s = new SenderSession(OfferedEntries.of(TREE), []);
    accepted(s);
    expect(() => s.onMessage({ type: "error", code: "no-space", message: "disk full" })).toThrow(
      expect.objectContaining({ code: "peer-gone", message: "peer: disk full" }),
    );
    expect(() => s.onMessage({ type: "error", code: "integrity", message: "bad" })).toThrow(
      expect.objectContaining({ code: "integrity" }),
    );
    expect(() => s.onMessage({ type: "offer-end" })).toThrow("unexpected 'offer-end' from receiver");
  });
});
