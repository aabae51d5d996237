import { describe, expect, test } from "bun:test";
import { RateBound } from "./rate-bound.ts";

const MSS = 1500;

function cutAt(rate: number): RateBound {
  const b = new RateBound();
  b.cut(rate, 0.85, 0, null);
  return b;
}

describe("rate bound", () => {
  test("a cut takes the lower of bound and measured rate by the factor, never below the floor", () => {
    const b = new RateBound();
    expect(b.value).toBe(Number.POSITIVE_INFINITY);
    b.cut(10e6, 0.7, 0, 1000);
    expect(b.value).toBeCloseTo(7e6);
    b.cut(20e6, 0.5, 0, null);
    expect(b.value).toBeCloseTo(3.5e6);
    b.cut(20e6, 0.01, 1e6, null);
    expect(b.value).toBe(1e6);
    expect(b.cuts).toBe(3);
  });

  test("flows cut together win back the same absolute rate, so the larger one's share shrinks", () => {
    const small = cutAt(10e6);
    const large = cutAt(40e6);
    const ratio = large.value / small.value;
    for (let i = 0; i < 3; i++) {
      small.recover(MSS, 300, 10e6);
      large.recover(MSS, 300, 40e6);
    }
    const smallGain = small.value - 8.5e6;
    const largeGain = large.value - 34e6;
    expect(smallGain).toBeGreaterThan(0);
    expect(Math.abs(largeGain - smallGain)).toBeLessThan(1);
    expect(large.value / small.value).toBeLessThan(ratio);
  });

  test("short paths grow by at most 5 % a round, however large the step has become", () => {
    const b = cutAt(1e6);
    let prev = b.value;
    for (let i = 0; i < 40; i++) {
      b.recover(16_384, 0.5, 1e9);
      expect(b.value).toBeLessThanOrEqual(prev * 1.05 + 1e-6);
      prev = b.value;
    }
  });

  test("a bound twice what the flow measures no longer binds and is lifted", () => {
    const b = cutAt(10e6);
    b.recover(MSS, 50, 4e6);
    expect(b.value).toBe(Number.POSITIVE_INFINITY);
  });

  test("a loss cut is undone once half its loss proves spurious; a delay cut never is", () => {
    const b = new RateBound();
    b.cut(10e6, 0.7, 0, 10_000);
    b.onSpurious(4000);
    expect(b.value).toBeCloseTo(7e6);
    b.onSpurious(1000);
    expect(b.value).toBe(Number.POSITIVE_INFINITY);
    expect(b.undone).toBe(1);
    const d = cutAt(10e6);
    d.onSpurious(1e9);
    expect(d.value).toBeCloseTo(8.5e6);
  });
});
