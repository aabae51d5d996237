import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { MAX_ACK_DELAY_MS, MAX_ACK_FRAME_RANGES, MAX_TRACKED_RANGES, ReceivedPackets } from "./received-packets.ts";
import type { PnRange } from "./wire/frames.ts";

/** Descending, disjoint, non-adjacent ranges of a set of PNs. */
function rangesOf(set: Iterable<number>): PnRange[] {
  const out: PnRange[] = [];
  for (const pn of [...set].sort((a, b) => b - a)) {
    const last = out[out.length - 1];
    if (last && last.low === pn + 1) last.low = pn;
    else out.push({ low: pn, high: pn });
  }
  return out;
}

function expectNormalForm(ranges: readonly PnRange[]): void {
  for (const [i, r] of ranges.entries()) {
    expect(r.low).toBeLessThanOrEqual(r.high);
    const prev = ranges[i - 1];
    if (prev) expect(r.high).toBeLessThan(prev.low - 1);
  }
}

describe("when an ACK is due", () => {
  test("one packet waits up to the max ACK delay; the second makes the ACK immediate", () => {
    expect(MAX_ACK_DELAY_MS).toBe(5);
    const r = new ReceivedPackets();
    expect(r.ackDue(0)).toBe(false);
    expect(r.hasRanges).toBe(false);
    expect(r.record(0, 100)).toBe(true);
    expect(r.ackDeadline).toBe(105);
    expect(r.ackDue(100)).toBe(false);
    expect(r.ackDue(104.9)).toBe(false);
    expect(r.ackDue(105)).toBe(true);
    expect(r.record(1, 102)).toBe(true);
    expect(r.ackDue(102)).toBe(true);
    expect(r.ackDeadline).toBe(102);
    expect(r.ackDelayUs(103)).toBe(1000);
    r.onAckSent();
    expect(r.ackDue(1000)).toBe(false);
    expect(r.ackDeadline).toBe(Number.POSITIVE_INFINITY);
    expect(r.ranges).toEqual([{ low: 0, high: 1 }]);
  });

  test("every second in-order packet makes an ACK due", () => {
    const r = new ReceivedPackets();
    const due: boolean[] = [];
    for (let pn = 0; pn < 8; pn++) {
      r.record(pn, pn);
      due.push(r.ackDue(pn));
      if (due[pn]) r.onAckSent();
    }
    expect(due).toEqual([false, true, false, true, false, true, false, true]);
    expect(r.ranges).toEqual([{ low: 0, high: 7 }]);
  });

  test("after the first 100 packets, every tenth in-order packet makes an ACK due (decimation)", () => {
    const r = new ReceivedPackets();
    const dueAt: number[] = [];
    // 10 µs apart: fast enough that the max ACK delay never decides.
    for (let pn = 0; pn < 140; pn++) {
      r.record(pn, pn / 100);
      if (r.ackDue(pn / 100)) {
        dueAt.push(pn);
        r.onAckSent();
      }
    }
    const young = Array.from({ length: 50 }, (_, i) => 2 * i + 1);
    expect(dueAt).toEqual([...young, 109, 119, 129, 139]);
    // A gap still asks for an ACK at once.
    r.record(141, 1.41);
    expect(r.ackDue(1.41)).toBe(true);
  });

  test("a gap makes the ACK immediate; so does filling it", () => {
    const r = new ReceivedPackets();
    r.record(0, 0);
    r.record(1, 0);
    r.onAckSent();
    expect(r.record(3, 10)).toBe(true); // 2 missing
    expect(r.ackDue(10)).toBe(true);
    expect(r.ranges).toEqual([
      { low: 3, high: 3 },
      { low: 0, high: 1 },
    ]);
    r.onAckSent();
    expect(r.record(2, 11)).toBe(true); // late arrival
    expect(r.ackDue(11)).toBe(true);
    expect(r.ranges).toEqual([{ low: 0, high: 3 }]);
  });

  test("a duplicate is refused and does not make an ACK due", () => {
    const r = new ReceivedPackets();
    r.record(5, 0);
    r.record(6, 0);
    r.onAckSent();
    expect(r.record(5, 1)).toBe(false);
    expect(r.record(6, 1)).toBe(false);
    expect(r.ackDue(1000)).toBe(false);
    r.record(9, 2);
    r.onAckSent();
    expect(r.record(9, 3)).toBe(false);
    expect(r.record(6, 3)).toBe(false);
    expect(r.record(4, 3)).toBe(true);
    expect(r.ranges).toEqual([
      { low: 9, high: 9 },
      { low: 4, high: 6 },
    ]);
  });

  test("the ACK delay is measured from the arrival of the largest packet", () => {
    const r = new ReceivedPackets();
    r.record(10, 50);
    r.record(8, 53); // older: does not restart the clock
    expect(r.ackDelayUs(54)).toBe(4000);
    r.record(11, 60);
    expect(r.ackDelayUs(62.5)).toBe(2500);
    expect(r.ackDelayUs(59)).toBe(0);
  });

  test("the deadline of a pending ACK is never pushed back by later packets", () => {
    const r = new ReceivedPackets();
    r.record(0, 0);
    r.onAckSent();
    r.record(1, 10);
    expect(r.ackDeadline).toBe(15);
    r.onAckSent();
    r.record(2, 20);
    // Only one since the last ACK: not immediate; the deadline is from the first.
    expect(r.ackDue(24)).toBe(false);
    expect(r.ackDue(25)).toBe(true);
  });
});

describe("ranges", () => {
  test("random arrival orders with duplicates match a set model", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 150 }), { maxLength: 200 }), (arrivals) => {
        const r = new ReceivedPackets();
        const seen = new Set<number>();
        for (const pn of arrivals) {
          expect(r.record(pn, 0)).toBe(!seen.has(pn));
          seen.add(pn);
          expectNormalForm(r.ranges);
        }
        expect(r.ranges).toEqual(rangesOf(seen));
      }),
    );
  });

  test(`at most ${MAX_TRACKED_RANGES} ranges are kept, the newest`, () => {
    expect(MAX_TRACKED_RANGES).toBe(256);
    const r = new ReceivedPackets();
    for (let pn = 0; pn <= 1200; pn += 4) r.record(pn, 0);
    expect(r.ranges.length).toBe(256);
    expect(r.ranges[0]).toEqual({ low: 1200, high: 1200 });
    expect(r.ranges[255]).toEqual({ low: 180, high: 180 });
    // Older than everything kept: accepted (it cannot be told from a new one) but not tracked.
    expect(r.record(0, 0)).toBe(true);
    expect(r.ranges.length).toBe(256);
    expect(r.ranges[255]).toEqual({ low: 180, high: 180 });
    // Adjacent to the oldest range kept: extends it.
    expect(r.record(179, 0)).toBe(true);
    expect(r.ranges[255]).toEqual({ low: 179, high: 180 });
    // A new range in a gap when full drops the oldest.
    expect(r.record(602, 0)).toBe(true);
    expect(r.ranges.length).toBe(256);
    expect(r.ranges[255]).toEqual({ low: 184, high: 184 });
    expect(r.ranges).toContainEqual({ low: 602, high: 602 });
    // A new largest with a gap when full also drops the oldest.
    expect(r.record(1300, 0)).toBe(true);
    expect(r.ranges.length).toBe(256);
    expect(r.ranges[0]).toEqual({ low: 1300, high: 1300 });
    expect(r.ranges[255]).toEqual({ low: 188, high: 188 });
  });

  test("with many holes: never more than 256 ranges, each a run that really arrived, newest kept", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 3000 }), { minLength: 300, maxLength: 900 }), (arrivals) => {
        const r = new ReceivedPackets();
        const seen = new Set<number>();
        for (const pn of arrivals) {
          r.record(pn, 0);
          seen.add(pn);
          expect(r.ranges.length).toBeLessThanOrEqual(MAX_TRACKED_RANGES);
        }
        expectNormalForm(r.ranges);
        for (const x of r.ranges) for (let pn = x.low; pn <= x.high; pn++) expect(seen.has(pn)).toBe(true);
        // The newest range is exact: its top is the largest PN seen.
        expect(r.ranges[0]?.high).toBe(Math.max(...seen));
      }),
      { numRuns: 50 },
    );
  });
});

describe("the ACK stamp (this side's clock)", () => {
  test("names the packet that arrived last, fill-ins too, not duplicates, timed from the connection's start", () => {
    const r = new ReceivedPackets(1000);
    r.record(5, 1010);
    r.record(9, 1012);
    r.record(7, 1015.5); // a fill-in below the largest
    expect(r.ackStamp(1020)).toEqual({ timeUs: 20_000, latestPn: 7, latestAgeUs: 4_500 });
    expect(r.record(9, 1030)).toBe(false); // a duplicate changes nothing
    expect(r.ackStamp(1040)).toEqual({ timeUs: 40_000, latestPn: 7, latestAgeUs: 24_500 });
  });
});

describe("which ranges an ACK reports", () => {
  test("the newest MAX_ACK_FRAME_RANGES, or, when the latest arrival lies below them, the ranges around it too", () => {
    const r = new ReceivedPackets();
    // 40 ranges: every other PN from 1000 down to 922 (holes between), newest first.
    for (let pn = 922; pn <= 1000; pn += 2) r.record(pn, 0);
    expect(r.ackRanges()).toBe(r.ranges);
    // A fill-in far below the newest 32 ranges (it was overtaken): reported with its neighbours.
    r.record(925, 1);
    const reported = r.ackRanges();
    expect(reported.length).toBe(MAX_ACK_FRAME_RANGES);
    expect(reported.slice(0, 24)).toEqual(r.ranges.slice(0, 24));
    expect(reported.some((x) => x.low <= 925 && 925 <= x.high)).toBe(true);
    // Still descending, disjoint and non-adjacent: what the frame's gap encoding needs.
    expectNormalForm(reported);
  });

  test("property: whatever arrived, the latest arrival is in the ranges reported, in normal form", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 400 }), (pns) => {
        const r = new ReceivedPackets();
        let latest = -1;
        for (const pn of pns) if (r.record(pn, 0)) latest = pn;
        const reported = r.ackRanges().slice(0, MAX_ACK_FRAME_RANGES);
        expectNormalForm(reported);
        const tracked = r.ranges.some((x) => x.low <= latest && latest <= x.high);
        if (tracked) expect(reported.some((x) => x.low <= latest && latest <= x.high)).toBe(true);
      }),
    );
  });
});
