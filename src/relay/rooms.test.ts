import { describe, expect, test } from "bun:test";
import { DEFAULT_LIMITS, quotaWithSlack, type RelayLimits, RoomBook } from "./rooms.ts";

function book(limits: Partial<RelayLimits> = {}) {
  let t = 1_000_000;
  const b = new RoomBook<string>({ ...DEFAULT_LIMITS, ...limits }, () => t);
  return { b, advance: (ms: number) => (t += ms) };
}

describe("RoomBook", () => {
  test("pairs a sender and a receiver in either order", () => {
    for (const [first, second] of [
      ["send", "recv"],
      ["recv", "send"],
    ] as const) {
      const { b } = book();
      expect(b.join({ room: "7", side: first, host: "a" }, "A")).toEqual({
        kind: "waiting",
        expiresInMs: DEFAULT_LIMITS.waitMs,
      });
      expect(b.join({ room: "7", side: second, host: "b" }, "B")).toEqual({ kind: "paired", peer: "A" });
    }
  });

  test("a second peer of the same side, or a third peer, is refused: the room is taken", () => {
    const { b } = book();
    b.join({ room: "7", side: "send", host: "a" }, "A");
    expect(b.join({ room: "7", side: "send", host: "c" }, "C")).toMatchObject({ kind: "refused", code: "room-taken" });
    b.join({ room: "7", side: "recv", host: "b" }, "B");
    expect(b.join({ room: "7", side: "recv", host: "d" }, "D")).toMatchObject({ kind: "refused", code: "room-taken" });
    // Other rooms are untouched.
    expect(b.join({ room: "8", side: "recv", host: "d" }, "D").kind).toBe("waiting");
  });

  test("a flood from one address stops at its limit; others still get in; leaving frees a place", () => {
    const { b } = book({ maxPerAddress: 3 });
    for (let i = 0; i < 3; i++)
      expect(b.join({ room: String(i), side: "recv", host: "flood" }, `F${i}`).kind).toBe("waiting");
    expect(b.join({ room: "99", side: "recv", host: "flood" }, "F3")).toMatchObject({
      kind: "refused",
      code: "address-limit",
    });
    expect(b.join({ room: "100", side: "recv", host: "honest" }, "H").kind).toBe("waiting");
    b.leave("F0");
    expect(b.join({ room: "99", side: "recv", host: "flood" }, "F3").kind).toBe("waiting");
  });

  test("past the total room limit a new room is refused, while an existing room can still pair", () => {
    const { b } = book({ maxRooms: 2 });
    b.join({ room: "1", side: "recv", host: "a" }, "A");
    b.join({ room: "2", side: "recv", host: "b" }, "B");
    expect(b.join({ room: "3", side: "recv", host: "c" }, "C")).toMatchObject({ kind: "refused", code: "full" });
    expect(b.join({ room: "1", side: "send", host: "d" }, "D")).toEqual({ kind: "paired", peer: "A" });
  });

  test("a sender that declares more bytes than the room allows is refused before anything moves", () => {
    const { b } = book({ roomBytes: 1000 });
    expect(b.join({ room: "7", side: "send", host: "a", bytes: 1001 }, "A")).toMatchObject({
      kind: "refused",
      code: "quota",
    });
    expect(b.join({ room: "7", side: "send", host: "a", bytes: 1000 }, "A").kind).toBe("waiting");
    expect(b.openRooms).toBe(1);
  });

  test("charge: within the quota and its slack, then over it", () => {
    const { b } = book({ roomBytes: 1000 });
    b.join({ room: "7", side: "send", host: "a" }, "A");
    b.join({ room: "7", side: "recv", host: "b" }, "B");
    expect(b.charge("A", quotaWithSlack(1000) - 1)).toBe(true);
    expect(b.charge("B", 1)).toBe(true);
    expect(b.charge("A", 1)).toBe(false);
    expect(b.bytesOf("B")).toBe(quotaWithSlack(1000) + 1);
  });

  test("no byte limit: charge never refuses", () => {
    const { b } = book({ roomBytes: 0 });
    b.join({ room: "7", side: "send", host: "a" }, "A");
    b.join({ room: "7", side: "recv", host: "b" }, "B");
    expect(b.charge("A", 2 ** 50)).toBe(true);
  });

  test("a lone peer expires after waitMs; a pair is cut after roomMs counted from the pairing", () => {
    const { b, advance } = book({ waitMs: 60_000, roomMs: 120_000 });
    b.join({ room: "1", side: "recv", host: "a" }, "A");
    advance(59_999);
    expect(b.sweep()).toEqual([]);
    b.join({ room: "2", side: "recv", host: "b" }, "B");
    advance(1);
    expect(b.sweep()).toEqual([{ handle: "A", code: "expired", reason: "nobody joined within 60 s" }]);
    expect(b.join({ room: "1", side: "send", host: "c" }, "C").kind).toBe("waiting"); // a new room, not A's
    advance(59_000);
    expect(b.join({ room: "2", side: "send", host: "d" }, "D")).toEqual({ kind: "paired", peer: "B" });
    advance(119_999);
    expect(b.sweep().map((s) => s.handle)).toEqual(["C"]); // C waited too long; the pair B-D has time left
    advance(1);
    const cut = b.sweep();
    expect(cut.map((s) => s.handle).sort()).toEqual(["B", "D"]);
    expect(cut[0]!.code).toBe("quota");
    expect(b.openRooms).toBe(0);
  });

  test("time limits of 0 mean none", () => {
    const { b, advance } = book({ waitMs: 0, roomMs: 0 });
    b.join({ room: "1", side: "recv", host: "a" }, "A");
    advance(10 ** 12);
    expect(b.sweep()).toEqual([]);
  });

  test("leave closes the room for both and returns the other peer; the room name is free again", () => {
    const { b } = book({ maxPerAddress: 1 });
    b.join({ room: "7", side: "send", host: "a" }, "A");
    b.join({ room: "7", side: "recv", host: "b" }, "B");
    expect(b.leave("B")).toBe("A");
    expect(b.leave("A")).toBeUndefined();
    expect(b.openRooms).toBe(0);
    // Both addresses got their place back.
    expect(b.join({ room: "7", side: "send", host: "a" }, "A2").kind).toBe("waiting");
    expect(b.join({ room: "8", side: "send", host: "b" }, "B2").kind).toBe("waiting");
  });
});
