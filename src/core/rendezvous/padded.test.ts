/** The padded start of a relayed stream: what goes in comes out, split anywhere; a peer's bad frame fails. */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { XferError } from "../errors.ts";
import { PAD_FRAME, PADDED_BYTES, PaddedReader, PaddedWriter, padSender } from "./padded.ts";

const concat = (parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

describe("padded", () => {
  test("each write inside the framed part is its frames, then a padding frame as a send of its own", () => {
    const w = new PaddedWriter();
    expect(w.encode(Uint8Array.of(7, 8, 9))).toEqual([Uint8Array.of(0, 3, 7, 8, 9), PAD_FRAME]);
    expect(w.encode(new Uint8Array(0))).toEqual([]);
  });

  test("the write that ends the framed part carries the raw rest and no padding; later writes go as they are", () => {
    const w = new PaddedWriter();
    const big = new Uint8Array(PADDED_BYTES + 10).fill(5);
    const [sent, ...more] = w.encode(big);
    expect(more).toEqual([]);
    expect(sent!.byteLength).toBe(big.byteLength + 2);
    expect(w.done).toBe(true);
    const later = Uint8Array.of(1, 2);
    expect(w.encode(later)).toEqual([later]);
    expect(new PaddedReader().decode(sent!)).toEqual(big);
  });

  test("whatever is written comes out the same, however the stream is cut on the way", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 20_000 }), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 30 }),
        (writes, cuts) => {
          const w = new PaddedWriter();
          const wire = concat(writes.flatMap((c) => w.encode(c)));
          const r = new PaddedReader();
          const out: Uint8Array[] = [];
          for (let at = 0, i = 0; at < wire.byteLength; i++) {
            const n = cuts[i % cuts.length]!;
            out.push(r.decode(wire.subarray(at, at + n)));
            at += n;
          }
          expect(concat(out)).toEqual(concat(writes));
        },
      ),
      { seed: 1931, numRuns: 300 },
    );
  });

  test("a frame longer than what is left to frame is a protocol error, not bytes passed on", () => {
    const r = new PaddedReader();
    expect(() => r.decode(Uint8Array.of(0xff, 0xff))).toThrow(XferError);
    // Any bytes a peer sends either decode or fail cleanly.
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          expect(new PaddedReader().decode(bytes).byteLength).toBeLessThanOrEqual(bytes.byteLength);
        } catch (err) {
          expect(err).toBeInstanceOf(XferError);
        }
      }),
      { seed: 1932, numRuns: 2000 },
    );
  });

  test("a sender's padding goes a turn later, or before its next send; none once the start is over", () => {
    const sent: number[][] = [];
    const turns: (() => void)[] = [];
    const sender = padSender(
      (part) => sent.push([...part]),
      (fn) => turns.push(fn),
    );
    sender.pad();
    sender.write(Uint8Array.of(1));
    // The padding still due went first, then the frame; the frame's padding waits for the turn.
    expect(sent).toEqual([
      [0, 0],
      [0, 1, 1],
    ]);
    for (const turn of turns.splice(0)) turn();
    expect(sent).toEqual([
      [0, 0],
      [0, 1, 1],
      [0, 0],
    ]);
    // Before an end the padding due goes at once, and its turn then sends nothing more.
    sender.write(Uint8Array.of(2));
    sender.flush();
    for (const turn of turns.splice(0)) turn();
    expect(sent.slice(3)).toEqual([
      [0, 1, 2],
      [0, 0],
    ]);
    sender.write(new Uint8Array(PADDED_BYTES));
    for (const turn of turns.splice(0)) turn();
    sender.pad();
    expect(turns).toEqual([]);
    const wire = Uint8Array.from(sent.flat());
    expect(new PaddedReader().decode(wire).byteLength).toBe(2 + PADDED_BYTES);
  });
});
