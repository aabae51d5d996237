import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { PreparedFiles } from "../receive/receive-target.ts";
import { encodeAcceptFrame } from "./accept-frame.ts";
import { FRAME_HEADER_BYTES, FrameDecoder } from "./frames.ts";
import { ControlMessage } from "./messages.ts";

describe("the accept frame, written as bytes", () => {
  test("is exactly JSON.stringify of the accept message, and decodes as one", () => {
    const slot = fc.oneof(
      fc.constant("none" as const),
      fc.constant("fresh" as const),
      fc.record({ offset: fc.nat(), existing: fc.boolean(), hash: fc.boolean() }),
    );
    const refusal = fc.record({
      index: fc.nat(),
      code: fc.constantFrom("exists", "unsafe-name"),
      message: fc.string(),
    });
    fc.assert(
      fc.property(
        fc.array(slot, { maxLength: 40 }),
        fc.array(refusal, { maxLength: 3 }),
        fc.nat(),
        (slots, refused, first) => {
          const prepared = new PreparedFiles(slots.length, first);
          const files: object[] = [];
          slots.forEach((s, at) => {
            const index = first + at;
            if (s === "none") return;
            if (s === "fresh") {
              prepared.setFresh(index);
              files.push({ index, offset: 0, existing: false });
              return;
            }
            const accepted = {
              index,
              offset: s.offset,
              ...(s.hash ? { prefixHash: "a".repeat(64) } : {}),
              existing: s.existing,
            };
            prepared.set(index, { accepted, prefix: null });
            files.push(accepted);
          });
          const frame = encodeAcceptFrame(prepared, refused);
          const json = new TextDecoder().decode(frame.subarray(FRAME_HEADER_BYTES));
          expect(json).toBe(JSON.stringify({ type: "accept", first, files, refused }));
          const [piece] = new FrameDecoder().push(frame);
          expect(piece?.kind === "control" && ControlMessage.safeParse(JSON.parse(piece.json)).success).toBe(true);
        },
      ),
      { numRuns: 3000, seed: 14 },
    );
  });

  test("indices with any number of digits", () => {
    const prepared = new PreparedFiles(1_000_001);
    for (const i of [0, 9, 10, 99, 100, 999_999, 1_000_000]) prepared.setFresh(i);
    const json = new TextDecoder().decode(encodeAcceptFrame(prepared, []).subarray(FRAME_HEADER_BYTES));
    expect(JSON.parse(json).files.map((f: { index: number }) => f.index)).toEqual([
      0, 9, 10, 99, 100, 999_999, 1_000_000,
    ]);
  });
});
