import { describe, expect, test } from "bun:test";
import { FixedRatePacer, Pacer } from "./pacer.ts";

const MSS = 1000;

describe("Pacer (token bucket, pure)", () => {
  test("starts with a burst of minBurstPackets datagrams", () => {
    const p = new Pacer(MSS, 0);
    expect(p.budget(0, 1e6)).toBe(10 * MSS);
  });

  test("accrues rate × elapsed time, capped at burstMs of rate (or the minimum burst)", () => {
    const p = new Pacer(MSS, 0);
    p.onSent(10 * MSS);
    expect(p.budget(1, 1e6)).toBeCloseTo(1000); // 1 ms at 1 MB/s
    // 100 MB/s: 2 ms of rate is 200 kB, above the 10-datagram minimum.
    expect(p.budget(1000, 100e6)).toBe(200_000);
    // 1 MB/s: 2 ms is 2 kB, below the minimum burst of 10 kB, which wins.
    expect(p.budget(2000, 1e6)).toBe(10 * MSS);
  });

  test("a clock that goes backwards grants nothing", () => {
    const p = new Pacer(MSS, 100);
    p.onSent(10 * MSS);
    expect(p.budget(50, 1e6)).toBe(0);
  });

  test("nextSendTime is when the deficit is paid, and always moves time forward when short", () => {
    const p = new Pacer(MSS, 0);
    p.onSent(10 * MSS);
    p.budget(0, 1e6);
    expect(p.nextSendTime(MSS, 1e6)).toBeCloseTo(1); // 1000 B at 1 MB/s
    p.onSent(-MSS + 1e-9); // a deficit of a rounding error
    expect(p.nextSendTime(MSS, 1e6)).toBeGreaterThan(0);
    const full = new Pacer(MSS, 5);
    expect(full.nextSendTime(MSS, 1e6)).toBe(5); // enough credit: now
  });

  test("a larger MSS raises the minimum burst", () => {
    const p = new Pacer(MSS, 0);
    p.mss = 4000;
    expect(p.budget(100_000, 1e3)).toBe(40_000); // 100 kB accrued, held to 10 datagrams
  });

  test("over a long run the average rate is the rate asked for", () => {
    const p = new Pacer(MSS, 0);
    let now = 0;
    let sent = 0;
    while (now < 1000) {
      while (p.budget(now, 10e6) >= MSS) {
        p.onSent(MSS);
        sent += MSS;
      }
      now = Math.max(now + 1, p.nextSendTime(MSS, 10e6)); // timers fire at most once a ms
    }
    expect(sent / 1e6).toBeGreaterThan(9.9); // 10 MB in 1 s, give or take the first burst
    expect(sent / 1e6).toBeLessThan(10.1);
  });
});

describe("FixedRatePacer", () => {
  const fake = () => {
    let now = 0;
    const sleeps: number[] = [];
    return {
      clock: () => now,
      sleep: async (ms: number) => {
        sleeps.push(ms);
        now += ms;
      },
      sleeps,
      get now() {
        return now;
      },
    };
  };

  test("releases takes at the rate, sleeping at least 1 ms", async () => {
    const f = fake();
    const pacer = new FixedRatePacer(1e6, 10_000, f.clock, f.sleep);
    for (let i = 0; i < 11; i++) await pacer.take(10_000);
    // The first take is the initial burst; ten more at 1 MB/s need 100 ms.
    expect(f.now).toBeCloseTo(100);
    expect(Math.min(...f.sleeps)).toBeGreaterThanOrEqual(1);
  });

  test("a take larger than the bucket was sized for still completes (no hang)", async () => {
    const f = fake();
    const pacer = new FixedRatePacer(1e3, 100, f.clock, f.sleep);
    await pacer.take(100);
    await pacer.take(5000);
    expect(f.now).toBeCloseTo(5000);
  });
});
