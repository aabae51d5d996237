import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  type AckStamp,
  FRAME,
  type Frame,
  type PnRange,
  readFrames,
  streamFrameOverhead,
  writeAckFrame,
  writeCloseFrame,
  writeMaxDataFrame,
  writeStreamHeader,
} from "./frames.ts";
import { Reader, varintSize, WireError, writeVarint } from "./varint.ts";

/** Descending, disjoint, non-adjacent ranges (at least one missing PN between neighbours). */
const ackRanges = (maxRanges = 40): fc.Arbitrary<PnRange[]> =>
  fc
    .tuple(
      fc.integer({ min: 0, max: 2 ** 40 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 1, max: 3000 })), {
        minLength: 1,
        maxLength: maxRanges,
      }),
    )
    .map(([base, parts]) => {
      const ranges: PnRange[] = [];
      let at = base;
      for (const [length, gap] of parts) {
        ranges.push({ low: at, high: at + length });
        at += length + 1 + gap;
      }
      return ranges.reverse();
    });

/** A stamp that encodes in three bytes: time 0, latest packet 0 (offset = largest), age 0. */
const STAMP0: AckStamp = { timeUs: 0, latestPn: 0, latestAgeUs: 0 };

/** A stamp valid for an ACK whose largest is `largest`. */
const ackStamp = (largest: number): fc.Arbitrary<AckStamp> =>
  fc
    .tuple(fc.maxSafeNat(), fc.integer({ min: 0, max: largest }), fc.double({ min: 0, max: 1, noNaN: true }))
    .map(([timeUs, latestPn, share]) => ({ timeUs, latestPn, latestAgeUs: Math.floor(timeUs * share) }));

function writeAck(ranges: PnRange[], delayUs: number, room = 4096, stamp = STAMP0): Uint8Array {
  const buf = new Uint8Array(Math.max(room, 64) + 64);
  const end = writeAckFrame(new DataView(buf.buffer), 0, ranges, delayUs, stamp, room);
  return buf.subarray(0, end);
}

function read(bytes: Uint8Array): Frame[] {
  return readFrames(new Reader(bytes));
}

/** Writes frames with the module's writers; PADDING is written as `n` zero bytes. */
type Spec = Frame | { type: "padding"; n: number };
function writeFrames(specs: Spec[]): Uint8Array {
  const buf = new Uint8Array(64 * 1024);
  const view = new DataView(buf.buffer);
  let at = 0;
  for (const f of specs) {
    switch (f.type) {
      case "padding":
        at += f.n;
        break;
      case "ping":
        view.setUint8(at++, FRAME.ping);
        break;
      case "ack":
        at = writeAckFrame(view, at, f.ranges, f.delayUs, f.stamp, buf.byteLength - at);
        break;
      case "max-data":
        at = writeMaxDataFrame(view, at, f.limit);
        break;
      case "stream":
        at = writeStreamHeader(view, at, f.offset, f.data.byteLength, f.fin);
        buf.set(f.data, at);
        at += f.data.byteLength;
        break;
      case "close":
        at = writeCloseFrame(view, at, f.code, f.reason);
        break;
    }
  }
  return buf.subarray(0, at);
}

describe("ACK frames", () => {
  test("round-trip descending disjoint ranges and the delay", () => {
    fc.assert(
      fc.property(ackRanges(), fc.integer({ min: 0, max: 0x3fffffff }), (ranges, delayUs) => {
        expect(read(writeAck(ranges, delayUs))).toEqual([{ type: "ack", ranges, delayUs, stamp: STAMP0 }]);
      }),
    );
  });

  test("round-trip the stamp: the time, the latest packet (at or below the largest) and its age", () => {
    const withStamp = ackRanges(8).chain((ranges) =>
      fc.tuple(fc.constant(ranges), ackStamp((ranges[0] as PnRange).high)),
    );
    fc.assert(
      fc.property(withStamp, ([ranges, stamp]) => {
        expect(read(writeAck(ranges, 7, 4096, stamp))).toEqual([{ type: "ack", ranges, delayUs: 7, stamp }]);
      }),
    );
  });

  test("the writer rounds and clamps the stamp into what a reader accepts", () => {
    const r = [{ low: 3, high: 9 }];
    const stampOf = (stamp: AckStamp) => (read(writeAck(r, 0, 4096, stamp))[0] as { stamp: AckStamp }).stamp;
    expect(stampOf({ timeUs: 10.6, latestPn: 4, latestAgeUs: 2.4 })).toEqual({
      timeUs: 11,
      latestPn: 4,
      latestAgeUs: 2,
    });
    // An age beyond the time, a latest packet above the largest or below zero, a negative time.
    expect(stampOf({ timeUs: 5, latestPn: 12, latestAgeUs: 50 })).toEqual({ timeUs: 5, latestPn: 9, latestAgeUs: 5 });
    expect(stampOf({ timeUs: -3, latestPn: -1, latestAgeUs: -1 })).toEqual({ timeUs: 0, latestPn: 0, latestAgeUs: 0 });
  });

  test("a stamp naming a packet below zero, or an arrival before the connection began, is a WireError", () => {
    // largest 5, delay 0, time 10, latest offset, age, count 0, first range 0
    const frame = (offset: number, age: number) => Uint8Array.from([FRAME.ack, 5, 0, 10, offset, age, 0, 0]);
    expect(read(frame(5, 10))).toEqual([
      { type: "ack", ranges: [{ low: 5, high: 5 }], delayUs: 0, stamp: { timeUs: 10, latestPn: 0, latestAgeUs: 10 } },
    ]);
    expect(() => read(frame(6, 0))).toThrow("ACK's latest packet below zero");
    expect(() => read(frame(0, 11))).toThrow("arrived before its connection began");
  });

  test("a single range, adjacent-by-one gaps and ranges reaching PN 0", () => {
    const cases: PnRange[][] = [
      [{ low: 0, high: 0 }],
      [{ low: 5, high: 9 }],
      [
        { low: 10, high: 12 },
        { low: 0, high: 8 },
      ],
      [
        { low: 4, high: 4 },
        { low: 2, high: 2 },
        { low: 0, high: 0 },
      ],
    ];
    for (const ranges of cases)
      expect(read(writeAck(ranges, 0))).toEqual([{ type: "ack", ranges, delayUs: 0, stamp: STAMP0 }]);
  });

  test("the delay is rounded and clamped to a 4-byte varint", () => {
    const r = [{ low: 1, high: 2 }];
    expect(read(writeAck(r, 1.6))).toEqual([{ type: "ack", ranges: r, delayUs: 2, stamp: STAMP0 }]);
    expect(read(writeAck(r, -50))).toEqual([{ type: "ack", ranges: r, delayUs: 0, stamp: STAMP0 }]);
    expect(read(writeAck(r, 1e12))).toEqual([{ type: "ack", ranges: r, delayUs: 0x3fffffff, stamp: STAMP0 }]);
  });

  test("with little room, keeps the newest ranges that fit and never exceeds the room", () => {
    fc.assert(
      fc.property(ackRanges(60), fc.nat({ max: 2000 }), fc.integer({ min: 0, max: 200 }), (ranges, delayUs, room) => {
        const minimal = writeAck(ranges.slice(0, 1), delayUs).byteLength;
        fc.pre(room >= minimal);
        const bytes = writeAck(ranges, delayUs, room);
        expect(bytes.byteLength).toBeLessThanOrEqual(room);
        const [frame] = read(bytes);
        if (frame?.type !== "ack") throw new Error("no ACK frame");
        const k = frame.ranges.length;
        expect(k).toBeGreaterThanOrEqual(1);
        expect(frame.ranges).toEqual(ranges.slice(0, k));
        // Maximal: one more range would not have fit.
        if (k < ranges.length) expect(writeAck(ranges.slice(0, k + 1), delayUs).byteLength).toBeGreaterThan(room);
      }),
    );
  });

  test("concrete truncation: 10 ranges into a 12-byte room keep the newest 4", () => {
    const ranges = Array.from({ length: 10 }, (_, i) => ({ low: 100 - 10 * i, high: 100 - 10 * i + 5 }));
    // type 1 + largest (105) 2 + delay 1 + stamp 0, 105 (2), 0 = 4 + count 1 + first length 1 = 10 bytes; each
    // further range 2 (gap, length).
    const bytes = writeAck(ranges, 0, 16);
    expect(bytes.byteLength).toBe(16);
    expect(read(bytes)).toEqual([{ type: "ack", ranges: ranges.slice(0, 4), delayUs: 0, stamp: STAMP0 }]);
  });

  test("maxRanges keeps the newest ranges even when more would fit", () => {
    const ranges = Array.from({ length: 50 }, (_, i) => ({ low: 1000 - 10 * i, high: 1000 - 10 * i + 5 }));
    const buf = new Uint8Array(4096);
    const end = writeAckFrame(new DataView(buf.buffer), 0, ranges, 0, STAMP0, 4096, 32);
    expect(read(buf.subarray(0, end))).toEqual([
      { type: "ack", ranges: ranges.slice(0, 32), delayUs: 0, stamp: STAMP0 },
    ]);
  });

  test("writeAckFrame needs a range", () => {
    expect(() => writeAck([], 0)).toThrow(RangeError);
  });

  test("a range count larger than the packet could hold is a WireError", () => {
    const frame = (count: number) => {
      const buf = new Uint8Array(32);
      const v = new DataView(buf.buffer);
      let at = 0;
      v.setUint8(at++, FRAME.ack);
      at = writeVarint(v, at, 100); // largest
      at = writeVarint(v, at, 0); // delay
      at = writeVarint(v, at, 0); // stamp: time 0, latest 100, age 0
      at = writeVarint(v, at, 0);
      at = writeVarint(v, at, 0);
      at = writeVarint(v, at, count);
      at = writeVarint(v, at, 1); // first range: 99..100
      at = writeVarint(v, at, 0); // gap
      at = writeVarint(v, at, 0); // one more range: 97..97
      return buf.subarray(0, at);
    };
    for (const lie of [2, 1000, 2 ** 40]) expect(() => read(frame(lie))).toThrow(WireError);
    // Refused up front, before walking the ranges, not merely when the bytes run out.
    expect(() => read(frame(1000))).toThrow("ACK range count exceeds the packet");
    expect(read(frame(1))).toEqual([
      {
        type: "ack",
        ranges: [
          { low: 99, high: 100 },
          { low: 97, high: 97 },
        ],
        delayUs: 0,
        stamp: { timeUs: 0, latestPn: 100, latestAgeUs: 0 },
      },
    ]);
  });

  test("a count that fits the bytes but runs off the end is still a WireError", () => {
    const bytes = Uint8Array.from([FRAME.ack, 50, 0, 0, 0, 0, 2, 1, 0, 0]); // count 2, one range's bytes
    expect(() => read(bytes)).toThrow(WireError);
  });

  test("ranges going below zero are a WireError", () => {
    // largest 5, delay 0, stamp (0, 0, 0), then the count and ranges.
    const ack = (...rest: number[]) => Uint8Array.from([FRAME.ack, 5, 0, 0, 0, 0, ...rest]);
    expect(() => read(ack(0, 6))).toThrow(WireError);
    expect(read(ack(0, 5))).toEqual([
      { type: "ack", ranges: [{ low: 0, high: 5 }], delayUs: 0, stamp: { timeUs: 0, latestPn: 5, latestAgeUs: 0 } },
    ]);
    // Gap below the first range: high = 3 - 2 - 2 = -1.
    expect(() => read(ack(1, 2, 2, 0))).toThrow(WireError);
    // Second range longer than what is left below it.
    expect(() => read(ack(1, 2, 0, 2))).toThrow(WireError);
  });
});

describe("other frames", () => {
  test("STREAM and STREAM+FIN round-trip; the header size is streamFrameOverhead", () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.uint8Array({ maxLength: 300 }), fc.boolean(), (offset, data, fin) => {
        const bytes = writeFrames([{ type: "stream", offset, data, fin }]);
        expect(bytes.byteLength).toBe(streamFrameOverhead(offset, data.byteLength) + data.byteLength);
        expect(bytes[0]).toBe(fin ? FRAME.streamFin : FRAME.stream);
        expect(read(bytes)).toEqual([{ type: "stream", offset, data, fin }]);
      }),
    );
  });

  test("a STREAM frame claiming more bytes than remain is a WireError", () => {
    const full = writeFrames([{ type: "stream", offset: 10, data: new Uint8Array(20), fin: false }]);
    for (let n = 1; n < full.byteLength; n++) expect(() => read(full.subarray(0, n))).toThrow(WireError);
  });

  test("MAX_DATA round-trips", () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (limit) => {
        const bytes = writeFrames([{ type: "max-data", limit }]);
        expect(bytes.byteLength).toBe(1 + varintSize(limit));
        expect(read(bytes)).toEqual([{ type: "max-data", limit }]);
      }),
    );
  });

  test("CLOSE round-trips; the reason is cut to 200 characters", () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.string({ unit: "grapheme", maxLength: 60 }), (code, reason) => {
        expect(read(writeFrames([{ type: "close", code, reason }]))).toEqual([
          { type: "close", code, reason: new TextDecoder().decode(new TextEncoder().encode(reason.slice(0, 200))) },
        ]);
      }),
    );
    expect(read(writeFrames([{ type: "close", code: 2, reason: "x".repeat(500) }]))).toEqual([
      { type: "close", code: 2, reason: "x".repeat(200) },
    ]);
    expect(read(writeFrames([{ type: "close", code: 1, reason: "fin ✓" }]))).toEqual([
      { type: "close", code: 1, reason: "fin ✓" },
    ]);
  });

  test("a CLOSE reason over 800 bytes on the wire is a WireError", () => {
    const buf = new Uint8Array(900);
    const v = new DataView(buf.buffer);
    let at = 0;
    v.setUint8(at++, FRAME.close);
    at = writeVarint(v, at, 1);
    at = writeVarint(v, at, 801);
    expect(() => read(buf.subarray(0, at + 801))).toThrow(WireError);
  });

  test("PING is one byte; PADDING zeros are skipped", () => {
    expect(writeFrames([{ type: "ping" }])).toEqual(Uint8Array.from([FRAME.ping]));
    expect(read(Uint8Array.from([0, 0, FRAME.ping, 0, FRAME.maxData, 7, 0, 0]))).toEqual([
      { type: "ping" },
      { type: "max-data", limit: 7 },
    ]);
    expect(read(new Uint8Array(1200))).toEqual([]);
    expect(read(new Uint8Array(0))).toEqual([]);
  });

  test("unknown frame types are a WireError", () => {
    for (const t of [0x07, 0x40, 0xff]) expect(() => read(Uint8Array.from([FRAME.ping, t]))).toThrow(WireError);
  });
});

describe("frame sequences", () => {
  const frame: fc.Arbitrary<Spec> = fc.oneof(
    fc.constant({ type: "ping" as const }),
    fc.nat({ max: 20 }).map((n) => ({ type: "padding" as const, n })),
    fc.maxSafeNat().map((limit) => ({ type: "max-data" as const, limit })),
    fc.record({
      type: fc.constant("stream" as const),
      offset: fc.maxSafeNat(),
      data: fc.uint8Array({ maxLength: 100 }),
      fin: fc.boolean(),
    }),
    fc.record({ type: fc.constant("close" as const), code: fc.nat({ max: 10 }), reason: fc.string({ maxLength: 30 }) }),
    fc
      .tuple(ackRanges(10), fc.integer({ min: 0, max: 0x3fffffff }))
      .chain(([ranges, delayUs]) =>
        ackStamp((ranges[0] as PnRange).high).map((stamp) => ({ type: "ack" as const, ranges, delayUs, stamp })),
      ),
  );

  test("any sequence round-trips, padding dropped", () => {
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 12 }), (specs) => {
        expect(read(writeFrames(specs))).toEqual(specs.filter((f): f is Frame => f.type !== "padding"));
      }),
    );
  });

  test("random bytes only ever throw WireError, and STREAM data stays inside the payload", () => {
    const typed = fc
      .tuple(fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 60 }))
      .map(([t, rest]) => Uint8Array.from([t, ...rest]));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 120 }), typed), (bytes) => {
        const backing = new Uint8Array(bytes.byteLength + 32).fill(0xee);
        backing.set(bytes);
        let frames: Frame[];
        try {
          frames = read(backing.subarray(0, bytes.byteLength));
        } catch (err) {
          expect(err).toBeInstanceOf(WireError);
          return;
        }
        for (const f of frames) {
          if (f.type === "stream") {
            expect(f.data.buffer).toBe(backing.buffer);
            expect(f.data.byteOffset + f.data.byteLength).toBeLessThanOrEqual(bytes.byteLength);
          }
          if (f.type === "ack") {
            // A decoded stamp is one the sender can use without further checks.
            expect(f.stamp.latestPn).toBeGreaterThanOrEqual(0);
            expect(f.stamp.latestPn).toBeLessThanOrEqual((f.ranges[0] as PnRange).high);
            expect(f.stamp.latestAgeUs).toBeLessThanOrEqual(f.stamp.timeUs);
            for (const [i, r] of f.ranges.entries()) {
              expect(r.low).toBeGreaterThanOrEqual(0);
              expect(r.low).toBeLessThanOrEqual(r.high);
              const prev = f.ranges[i - 1];
              if (prev) expect(r.high).toBeLessThan(prev.low - 1);
            }
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  test("every truncation of a frame sequence parses a prefix or throws WireError", () => {
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 6 }), fc.nat(), (specs, cut) => {
        const bytes = writeFrames(specs);
        const n = cut % (bytes.byteLength + 1);
        try {
          read(bytes.subarray(0, n));
        } catch (err) {
          expect(err).toBeInstanceOf(WireError);
        }
      }),
    );
  });
});
