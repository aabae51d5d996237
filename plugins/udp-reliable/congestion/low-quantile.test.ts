import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { LowQuantile } from "./low-quantile.ts";

describe("LowQuantile", () => {
  test("a few reordered (early) samples below the quantile do not move it", () => {
    const q = new LowQuantile(0.1);
    // A round of a fast flow: 40 ACKs of 10 packets at 70 ms, and 7 reordered packets acknowledged
    // alone at 30 ms. The minimum is 30 ms; counted per sample they are 15 % of the round.
    for (let i = 0; i < 40; i++) q.add(70 + (i % 5) / 10, 10);
    for (let i = 0; i < 7; i++) q.add(30, 1);
    expect(q.value).toBe(70);
    const perSample = new LowQuantile(0.1);
    for (let i = 0; i < 40; i++) perSample.add(70 + (i % 5) / 10, 1);
    for (let i = 0; i < 7; i++) perSample.add(30, 1);
    expect(perSample.value).toBe(30);
  });

  test("one sample is its own quantile; none is Infinity; reset forgets", () => {
    const q = new LowQuantile(0.1);
    expect(q.value).toBe(Number.POSITIVE_INFINITY);
    q.add(55, 3);
    expect(q.value).toBe(55);
    q.reset();
    expect(q.value).toBe(Number.POSITIVE_INFINITY);
  });

  test("matches the exact weighted quantile while it holds every sample, and never more than `keep`", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ v: fc.integer({ min: 0, max: 1000 }), w: fc.integer({ min: 1, max: 20 }) }), {
          minLength: 1,
          maxLength: 200,
        }),
        fc.constantFrom(0, 0.1, 0.5),
        (samples, quantile) => {
          const q = new LowQuantile(quantile, 32);
          for (const s of samples) q.add(s.v, s.w);
          const sorted = [...samples].sort((a, b) => a.v - b.v);
          const total = samples.reduce((n, s) => n + s.w, 0);
          let below = 0;
          let exact = sorted[sorted.length - 1]?.v as number;
          for (const s of sorted) {
            below += s.w;
            if (below > quantile * total) {
              exact = s.v;
              break;
            }
          }
          // Held: the 32 lowest. Past them the estimate stops at the 32nd (never above the exact one).
          if (samples.length <= 32) expect(q.value).toBe(exact);
          else expect(q.value).toBeLessThanOrEqual(exact);
          expect(q.value).toBeGreaterThanOrEqual(sorted[0]?.v as number);
        },
      ),
    );
  });
});
