import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { allocDataFrame, type DecodedPiece, encodeControlFrame, FrameDecoder, FrameError } from "./frames.ts";

function decodeAll(stream: Uint8Array, cuts: number[]): DecodedPiece[] {
  const d = new FrameDecoder();
  const out: DecodedPiece[] = [];
  let at = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < stream.byteLength)]
    .sort((a, b) => a - b)
    .concat(stream.byteLength)) {
    out.push(...d.push(stream.subarray(at, cut)));
    at = cut;
  }
  expect(d.atBoundary).toBe(true);
  return out;
}

const frameArb = fc.oneof(
  fc.record({ kind: fc.constant("control" as const), json: fc.json() }),
  fc.record({ kind: fc.constant("data" as const), bytes: fc.uint8Array({ minLength: 0, maxLength: 3000 }) }),
);

describe("frame codec", () => {
  test("any sequence of frames survives any split into chunks", () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 12 }), fc.array(fc.nat(40_000)), (frames, cuts) => {
        const encoded = frames.map((f) => {
          if (f.kind === "control") return encodeControlFrame(f.json);
          const { frame, payload } = allocDataFrame(f.bytes.byteLength);
          payload.set(f.bytes);
          return frame;
        });
        const stream = new Uint8Array(encoded.reduce((n, e) => n + e.byteLength, 0));
        let at = 0;
        for (const e of encoded) {
          stream.set(e, at);
          at += e.byteLength;
        }
        const pieces = decodeAll(stream, cuts);
        // Data may arrive in several pieces; merge consecutive data pieces per frame for comparison.
        const controls = pieces.filter((p) => p.kind === "control").map((p) => (p as { json: string }).json);
        expect(controls).toEqual(frames.filter((f) => f.kind === "control").map((f) => f.json));
        const dataBytes = pieces
          .filter((p) => p.kind === "data")
          .reduce((n, p) => n + (p as { bytes: Uint8Array }).bytes.byteLength, 0);
        expect(dataBytes).toBe(frames.reduce((n, f) => n + (f.kind === "data" ? f.bytes.byteLength : 0), 0));
      }),
    );
  });

  test("garbage never throws anything but FrameError, and never allocates past the limits", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        const d = new FrameDecoder();
        try {
          d.push(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(FrameError);
        }
      }),
    );
  });

  test("oversized frames are refused from the header alone", () => {
    const d = new FrameDecoder();
    expect(() => d.push(new Uint8Array([2, 0xff, 0xff, 0xff, 0xff]))).toThrow(FrameError);
    expect(() => new FrameDecoder().push(new Uint8Array([1, 0x7f, 0xff, 0xff, 0xff]))).toThrow(FrameError);
    expect(() => new FrameDecoder().push(new Uint8Array([9, 0, 0, 0, 0]))).toThrow(/unknown frame type/);
  });

  test("invalid UTF-8 in a control frame is a FrameError", () => {
    expect(() => new FrameDecoder().push(new Uint8Array([1, 0, 0, 0, 2, 0xc3, 0x28]))).toThrow(FrameError);
  });

  test("a data frame's payload is cache-line aligned, its header right before it", () => {
    for (const size of [0, 1, 4096, 512 * 1024]) {
      const { frame, payload } = allocDataFrame(size);
      expect(payload.byteOffset % 64).toBe(0);
      expect(frame.buffer).toBe(payload.buffer);
      expect(payload.byteOffset - frame.byteOffset).toBe(5);
      expect(frame.byteLength).toBe(5 + size);
      expect([...frame.subarray(0, 5)]).toEqual([2, size >>> 24, (size >>> 16) & 255, (size >>> 8) & 255, size & 255]);
    }
  });
});
