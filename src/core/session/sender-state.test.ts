import { describe, expect, test } from "bun:test";
import type { LocalEntry } from "../manifest.ts";
import { FEATURE_RECEIVED, FEATURE_SYMLINKS } from "../protocol/messages.ts";
import { SenderSession } from "./sender-state.ts";

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

function accepted(s: SenderSession, files = [1, 2].map((index) => ({ index, offset: 0, existing: false }))) {
  return s.onOfferReply({ type: "accept", files, refused: [] });
}

describe("SenderSession: the offer", () => {
  test("links go only to a receiver that can make them; otherwise each is named as skipped", () => {
    const old = new SenderSession(TREE, []);
    expect(old.skipped).toEqual(["d/l"]);
    expect(old.offer()).toMatchObject({ type: "offer", entries: TREE.slice(0, 3).map((e) => e.entry) });
    const modern = new SenderSession(TREE, [FEATURE_SYMLINKS]);
    expect(modern.skipped).toEqual([]);
    expect(modern.offer()).toMatchObject({ entries: TREE.map((e) => e.entry) });
  });
});

describe("SenderSession: the accept", () => {
  test("plans the accepted files in offer order with their total; refused ones become failures", () => {
    const s = new SenderSession(TREE, [FEATURE_RECEIVED]);
    const { plan, events } = s.onOfferReply({
      type: "accept",
      files: [{ index: 1, offset: 4, existing: false }],
      refused: [{ index: 2, code: "exists", message: "'d/b' collides with 'd/B'" }],
    });
    expect(plan.files.map((f) => [f.index, f.accepted.offset])).toEqual([[1, 4]]);
    expect(plan.total).toBe(10);
    expect(plan.acknowledged).toBe(true);
    expect(events).toEqual([
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
    const s = new SenderSession([file("-", null)], []);
    expect(accepted(s, [{ index: 0, offset: 0, existing: false }]).plan.total).toBeNull();
  });

  test("a rejection keeps the receiver's code where the user can act on it", () => {
    const s = new SenderSession(TREE, []);
    expect(() => s.onOfferReply({ type: "reject", code: "busy", message: "another session" })).toThrow(
      expect.objectContaining({ code: "busy", message: "receiver refused: another session" }),
    );
    expect(() => s.onOfferReply({ type: "reject", code: "no-space", message: "full" })).toThrow(
      expect.objectContaining({ code: "rejected" }),
    );
    expect(() => s.onOfferReply({ type: "done" })).toThrow(expect.objectContaining({ code: "protocol" }));
  });

  test.each([
    ["a folder", [{ index: 0, offset: 0, existing: false }], "not a file offered"],
    ["an index never offered", [{ index: 9, offset: 0, existing: false }], "not a file offered"],
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
    const s = new SenderSession(TREE, []);
    expect(() => accepted(s, files)).toThrow(expect.objectContaining({ code: "protocol" }));
    expect(() => accepted(new SenderSession(TREE, []), files)).toThrow(message);
  });

  test("a file both refused and accepted is a protocol error", () => {
    const s = new SenderSession(TREE, []);
    expect(() =>
      s.onOfferReply({
        type: "accept",
        files: [1, 2].map((index) => ({ index, offset: 0, existing: false })),
        refused: [{ index: 2, code: "exists", message: "x" }],
      }),
    ).toThrow("or one it refused");
  });
});

describe("SenderSession: verdicts while streaming", () => {
  test("success is what was confirmed file by file; the summary must agree", () => {
    const s = new SenderSession(TREE, []);
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
    const early = new SenderSession(TREE, []);
    accepted(early);
    early.sentFile(1, SENT);
    expect(() => early.onMessage({ type: "summary", files: 999, bytes: 0, failed: 0 })).toThrow(
      "without a verdict for 1 file(s), e.g. 'd/a'",
    );
    const liar = new SenderSession(TREE, []);
    accepted(liar);
    liar.sentFile(1, SENT);
    liar.onMessage({ type: "file-ok", index: 1, skipped: false });
    expect(() => liar.onMessage({ type: "summary", files: 2, bytes: 0, failed: 0 })).toThrow(
      "claims 2 file(s) but confirmed 1",
    );
  });

  test("a verdict for a file not sent, or a second one, is a protocol error; a link may fail without data", () => {
    const s = new SenderSession(TREE, [FEATURE_SYMLINKS]);
    accepted(s);
    expect(() => s.onMessage({ type: "file-ok", index: 1, skipped: false })).toThrow("which was not sent");
    s.sentFile(1, SENT);
    s.onMessage({ type: "file-ok", index: 1, skipped: false });
    expect(() => s.onMessage({ type: "file-ok", index: 1, skipped: false })).toThrow("answered twice for 'd/a'");
    expect(s.onMessage({ type: "file-failed", index: 3, code: "unsafe-name", message: "outside" })).toHaveLength(1);
  });

  test("the receiver's error ends the session (its local failures as a failed peer); anything else is unexpected", () => {
    const s = new SenderSession(TREE, []);
    accepted(s);
    expect(() => s.onMessage({ type: "error", code: "no-space", message: "disk full" })).toThrow(
      expect.objectContaining({ code: "peer-gone", message: "peer: disk full" }),
    );
    expect(() => s.onMessage({ type: "error", code: "integrity", message: "bad" })).toThrow(
      expect.objectContaining({ code: "integrity" }),
    );
    expect(() => s.onMessage({ type: "offer", entries: [] })).toThrow("unexpected 'offer' from receiver");
  });
});
