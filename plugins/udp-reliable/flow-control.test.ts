import { describe, expect, test } from "bun:test";
import { ReceiveWindow } from "./flow-control.ts";

const KiB = 1024;

describe("ReceiveWindow (the sliding window's receiving side)", () => {
  test("data within the granted limit is allowed, beyond it is not", () => {
    const w = new ReceiveWindow({ initial: 64 * KiB, max: 1024 * KiB });
    expect(w.allows(64 * KiB)).toBe(true);
    expect(w.allows(64 * KiB + 1)).toBe(false);
  });

  test("no update until a quarter of the window was read; then the limit moves to consumed + window", () => {
    const w = new ReceiveWindow({ initial: 64 * KiB, max: 64 * KiB });
    w.onConsumed(15 * KiB, 0, 100);
    expect(w.takeUpdate(15 * KiB)).toBeNull();
    w.onConsumed(16 * KiB, 0, 100);
    expect(w.takeUpdate(16 * KiB)).toBe(80 * KiB);
    expect(w.takeUpdate(16 * KiB)).toBeNull(); // taken once
    expect(w.allows(80 * KiB)).toBe(true);
  });

  test("a window drained in under two round trips doubles, up to the cap", () => {
    const w = new ReceiveWindow({ initial: 64 * KiB, max: 256 * KiB });
    let consumed = 0;
    let now = 0;
    for (let i = 0; i < 6; i++) {
      consumed += w.window / 2;
      now += 10; // half a window every 10 ms against a 100 ms srtt: the app keeps up, the path is the limit
      w.onConsumed(consumed, now, 100);
    }
    expect(w.window).toBe(256 * KiB);
  });

  test("a slow reader does not grow the window (a slow disk stalls the sender, not memory)", () => {
    const w = new ReceiveWindow({ initial: 64 * KiB, max: 1024 * KiB });
    let consumed = 0;
    for (let i = 1; i <= 10; i++) {
      consumed += 32 * KiB;
      w.onConsumed(consumed, i * 1000, 100); // half a window per second, srtt 100 ms
    }
    expect(w.window).toBe(64 * KiB);
  });

  test("the advertised limit never moves backwards", () => {
    const w = new ReceiveWindow({ initial: 64 * KiB, max: 64 * KiB });
    w.onConsumed(32 * KiB, 0, 100);
    const first = w.takeUpdate(32 * KiB) as number;
    w.onConsumed(16 * KiB, 0, 100); // an older count arriving late
    const second = w.takeUpdate(16 * KiB);
    expect(second === null || second >= first).toBe(true);
    expect(w.limit).toBe(first);
  });
});
