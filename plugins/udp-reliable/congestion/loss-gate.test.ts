import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { HEAVY_LOSS, lossIsCongestive, significantLoss } from "./loss-gate.ts";

const MSS = 1000;
const round = (lostPackets: number, packets: number, over: Partial<Parameters<typeof lossIsCongestive>[0]> = {}) =>
  lossIsCongestive({
    lostBytes: lostPackets * MSS,
    deliveredBytes: (packets - lostPackets) * MSS,
    mss: MSS,
    randomLoss: 0.01,
    freshLoss: true,
    queued: true,
    ...over,
  });

describe("loss gate", () => {
  test("one loss in a small round is not significant, however large a share it is", () => {
    expect(significantLoss(1, 5, 0.01)).toBe(false);
    expect(round(1, 5)).toBe(false);
  });

  test("loss at the path's random rate is not congestion, with or without a queue", () => {
    expect(round(10, 1000)).toBe(false);
    expect(round(10, 1000, { queued: false })).toBe(false);
  });

  test("excess loss is congestion only with a standing queue, unless it is heavy", () => {
    expect(round(60, 1000)).toBe(true);
    expect(round(60, 1000, { queued: false })).toBe(false);
    const heavy = Math.ceil(1000 * HEAVY_LOSS) + 1;
    expect(round(heavy, 1000, { queued: false })).toBe(true);
  });

  test("loss of packets sent before the last cut is never congestion", () => {
    expect(round(500, 1000, { freshLoss: false })).toBe(false);
  });

  test("never congestion without loss; monotone in the loss count", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.double({ min: 0, max: 0.15, noNaN: true }),
        fc.boolean(),
        (packets, p, queued) => {
          expect(round(0, packets, { randomLoss: p, queued })).toBe(false);
          // Once congestive, more loss in the same round stays congestive.
          let seen = false;
          for (let lost = 0; lost <= packets; lost += Math.max(1, Math.floor(packets / 50))) {
            const c = round(lost, packets, { randomLoss: p, queued });
            if (seen) expect(c).toBe(true);
            seen ||= c;
          }
        },
      ),
    );
  });
});
