import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { SendStream } from "./send-stream.ts";

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const NO_LIMIT = Number.MAX_SAFE_INTEGER;
/** Small ring segments, so a few writes cross their seams and wrap onto reused ones. */
const SEGMENT = 4096;

describe("SendStream", () => {
  test("new data goes out in order, limited by maxLength and the peer's flow-control limit; fin with the last byte", () => {
    const s = new SendStream();
    s.write(bytes(2500));
    s.finish();
    expect(s.nextRange(1000, 1800)).toEqual({ offset: 0, length: 1000, fin: false, retransmission: false });
    expect(s.nextRange(1000, 1800)).toEqual({ offset: 1000, length: 800, fin: false, retransmission: false });
    expect(s.nextRange(1000, 1800)).toBeNull();
    expect(s.flowBlocked(1800)).toBe(true);
    expect(s.nextRange(1000, NO_LIMIT)).toEqual({ offset: 1800, length: 700, fin: true, retransmission: false });
    expect(s.hasPending(NO_LIMIT)).toBe(false);
  });

  test("copies what was written, not the caller's buffer (which it may reuse at once)", () => {
    const s = new SendStream();
    const buf = bytes(100);
    s.write(buf);
    buf.fill(0);
    const out = new Uint8Array(40);
    s.copy(30, 40, out);
    expect(out).toEqual(bytes(100).subarray(30, 70));
  });

  test("a copy across write boundaries joins the chunks", () => {
    const s = new SendStream();
    s.write(bytes(10, 1));
    s.write(bytes(10, 2));
    s.write(bytes(10, 3));
    const out = new Uint8Array(15);
    s.copy(5, 15, out);
    const all = new Uint8Array([...bytes(10, 1), ...bytes(10, 2), ...bytes(10, 3)]);
    expect(out).toEqual(all.subarray(5, 20));
  });

  test("a lost range is sent again first, except the parts acknowledged through another copy", () => {
    const s = new SendStream();
    s.write(bytes(3000));
    s.nextRange(1000, NO_LIMIT);
    s.nextRange(1000, NO_LIMIT);
    s.onLost(0, 2000, false);
    s.onAcked(500, 1000, false); // a copy of 500..1500 got through after all
    expect(s.nextRange(1000, NO_LIMIT)).toEqual({ offset: 0, length: 500, fin: false, retransmission: true });
    expect(s.nextRange(1000, NO_LIMIT)).toEqual({ offset: 1500, length: 500, fin: false, retransmission: true });
    expect(s.nextRange(1000, NO_LIMIT)).toMatchObject({ offset: 2000, retransmission: false });
    expect(s.retransmittedBytes).toBe(1000);
  });

  test("acknowledged bytes are freed from the floor up; buffered counts what is held", () => {
    const s = new SendStream();
    s.write(bytes(3000));
    s.nextRange(3000, NO_LIMIT);
    s.onAcked(1000, 1000, false);
    expect(s.ackedFloor).toBe(0); // a gap at 0..1000 holds the floor
    s.onAcked(0, 1000, false);
    expect(s.ackedFloor).toBe(2000);
    expect(s.buffered).toBe(1000);
  });

  test("a lost fin alone is sent again as an empty range; once acknowledged everything is done", () => {
    const s = new SendStream();
    s.write(bytes(10));
    s.finish();
    s.nextRange(100, NO_LIMIT);
    s.onAcked(0, 10, false);
    s.onLost(10, 0, true);
    expect(s.nextRange(100, NO_LIMIT)).toEqual({ offset: 10, length: 0, fin: true, retransmission: true });
    s.onAcked(10, 0, true);
    expect(s.allAcked).toBe(true);
  });

  test("write after end() is refused", () => {
    const s = new SendStream();
    s.finish();
    expect(() => s.write(bytes(1))).toThrow("write after end()");
  });

  test("property: under any pattern of loss and acknowledgement, every byte arrives, none acknowledged is resent", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 1400 }),
        fc.infiniteStream(fc.integer({ min: 0, max: 99 })),
        (writes, mss, dice) => {
          const s = new SendStream();
          const source: number[] = [];
          writes.forEach((n, i) => {
            const b = bytes(n, i);
            source.push(...b);
            s.write(b);
          });
          s.finish();
          const received = new Uint8Array(source.length);
          const have = new Uint8Array(source.length);
          const roll = dice[Symbol.iterator]();
          let finAcked = false;
          for (let steps = 0; !s.allAcked; steps++) {
            if (steps > 100_000) throw new Error("did not finish");
            const r = s.nextRange(mss, NO_LIMIT);
            if (!r) throw new Error("stalled with bytes unacknowledged");
            const chunk = new Uint8Array(r.length);
            s.copy(r.offset, r.length, chunk);
            // A resent range never starts below what is acknowledged and freed.
            if (r.retransmission && r.length > 0 && r.offset < s.ackedFloor)
              throw new Error(`resent byte ${r.offset} below the acked floor ${s.ackedFloor}`);
            const fate = roll.next().value as number;
            if (fate < 30) {
              s.onLost(r.offset, r.length, r.fin);
              continue;
            }
            received.set(chunk, r.offset);
            have.fill(1, r.offset, r.offset + r.length);
            s.onAcked(r.offset, r.length, r.fin);
            if (r.fin) finAcked = true;
          }
          expect(finAcked).toBe(true);
          expect(have.every((x) => x === 1)).toBe(true);
          expect(Buffer.from(received).equals(Buffer.from(source))).toBe(true);
          expect(s.buffered).toBe(0);
        },
      ),
      { numRuns: 300, seed: 17 },
    );
  });

  test("property: writes interleaved with acknowledgement cross and reuse the ring's segments; every byte still arrives once acknowledged", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 30_000 }), { minLength: 4, maxLength: 16 }),
        fc.integer({ min: 200, max: 1400 }),
        fc.infiniteStream(fc.integer({ min: 0, max: 99 })),
        (writes, mss, dice) => {
          const s = new SendStream(SEGMENT);
          const source: number[] = [];
          const received = new Uint8Array(writes.reduce((a, b) => a + b, 0));
          const roll = dice[Symbol.iterator]();
          const step = () => {
            const r = s.nextRange(mss, NO_LIMIT);
            if (!r) throw new Error("stalled with bytes unacknowledged");
            const chunk = new Uint8Array(r.length);
            s.copy(r.offset, r.length, chunk);
            if ((roll.next().value as number) < 20) s.onLost(r.offset, r.length, r.fin);
            else {
              received.set(chunk, r.offset);
              s.onAcked(r.offset, r.length, r.fin);
            }
          };
          writes.forEach((n, i) => {
            // A writer held back by the send buffer, as StreamConnection.write is: at most 40 KB held.
            while (s.buffered + n > 40_000 && s.buffered > 0) step();
            const b = bytes(n, i);
            source.push(...b);
            s.write(b);
          });
          s.finish();
          for (let steps = 0; !s.allAcked; steps++) {
            if (steps > 100_000) throw new Error("did not finish");
            step();
          }
          expect(Buffer.from(received).equals(Buffer.from(source))).toBe(true);
          // Bounded by the most held at once (≤ 40 KB, or one larger write): never the total written.
          expect(s.capacity).toBeLessThanOrEqual((Math.ceil(40_000 / SEGMENT) + 1) * SEGMENT);
        },
      ),
      { numRuns: 200, seed: 16 },
    );
  });
});
