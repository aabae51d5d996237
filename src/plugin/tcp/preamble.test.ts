import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { encodePreamble, MAX_PREAMBLE_BYTES, PreambleReader, parsePreamble } from "./preamble.ts";

const tagArb = fc.stringMatching(/^[a-z][a-z0-9-]{0,39}$/);

/** Feed `bytes` to a fresh reader cut at `cuts`: the first result that is not "more", and where its chunk ended. */
function feedInPieces(bytes: Uint8Array, cuts: number[]) {
  const reader = new PreambleReader();
  const points = [...new Set(cuts.map((c) => c % (bytes.byteLength + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const to of [...points, bytes.byteLength]) {
    const r = reader.feed(bytes.subarray(from, to));
    if (r.kind !== "more") return { r, end: to };
    from = to;
  }
  return { r: { kind: "more" as const }, end: from };
}

describe("TCP preamble", () => {
  test("layout: 'X' 'T', version 1, length, the tag in ASCII", () => {
    expect([...encodePreamble("tcp-stream")]).toEqual([0x58, 0x54, 1, 10, ...Buffer.from("tcp-stream")]);
  });

  test("a tag that is not a transport name is refused when encoding", () => {
    for (const bad of ["", "Tcp", "1tcp", "a".repeat(41), "é"]) expect(() => encodePreamble(bad)).toThrow(/TCP tag/);
  });

  test("a first byte other than 'X' is untagged at once, with every byte kept", () => {
    const session = Uint8Array.of(3, 0, 0, 0, 9);
    const r = new PreambleReader().feed(session);
    expect(r).toEqual({ kind: "untagged", rest: session });
  });

  test.each([
    [[0x58, 0x00], "not a preamble"],
    [[0x58, 0x54, 2, 1, 0x61], "preamble version 2"],
    [[0x58, 0x54, 1, 0], "tag length 0"],
    [[0x58, 0x54, 1, 41], "tag length 41"],
    [[0x58, 0x54, 1, 2, 0x61, 0x20], "not a transport name"],
  ])("%j is refused: %s", (bytes, reason) => {
    const r = new PreambleReader().feed(Uint8Array.from(bytes));
    expect(r.kind).toBe("bad");
    expect(r.kind === "bad" && r.reason).toContain(reason);
  });

  test("property: any tag, cut anywhere, followed by anything, routes to that tag with the rest intact", () => {
    fc.assert(
      fc.property(
        tagArb,
        fc.uint8Array({ maxLength: 200 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (tag, after, cuts) => {
          const pre = encodePreamble(tag);
          const stream = new Uint8Array([...pre, ...after]);
          const { r, end } = feedInPieces(stream, cuts);
          expect(r.kind).toBe("tagged");
          if (r.kind !== "tagged") return;
          expect(r.tag).toBe(tag);
          // What followed the preamble in its last chunk, then the later chunks: exactly what was sent after it.
          expect([...r.rest, ...stream.subarray(end)]).toEqual([...after]);
        },
      ),
      { seed: 15, numRuns: 500 },
    );
  });

  test("property: arbitrary bytes never throw, and decide within MAX_PREAMBLE_BYTES", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
        const { r } = feedInPieces(bytes, cuts);
        // Undecided only while fewer bytes than the longest preamble came.
        if (r.kind === "more") expect(bytes.byteLength).toBeLessThan(MAX_PREAMBLE_BYTES);
        // Decided the same whole as in pieces.
        const whole = new PreambleReader().feed(bytes);
        expect(whole.kind).toBe(r.kind);
      }),
      { seed: 15, numRuns: 2000 },
    );
  });

  test("property: bytes starting with the magic decide exactly as parsePreamble says", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 60 }), (tail) => {
        const bytes = new Uint8Array([0x58, ...tail]);
        const parsed = parsePreamble(bytes.subarray(0, MAX_PREAMBLE_BYTES));
        const fed = new PreambleReader().feed(bytes);
        expect(fed.kind).toBe(parsed.kind === "complete" ? "tagged" : parsed.kind);
      }),
      { seed: 15, numRuns: 2000 },
    );
  });
});
