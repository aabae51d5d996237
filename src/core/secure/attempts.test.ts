import { describe, expect, test } from "bun:test";
import { CodeAttempts, MAX_WRONG_GENERATED } from "./attempts.ts";

describe("code attempts", () => {
  test("each failure doubles the lockout; during it handshakes are refused, after it answered", () => {
    let now = 1000;
    const a = new CodeAttempts(false, () => now);
    expect(a.delayMs()).toBe(0);
    a.failed();
    expect(a.delayMs()).toBe(500);
    now += 500;
    a.failed();
    expect(a.delayMs()).toBe(1000);
    now += 1000;
    a.failed();
    expect(a.delayMs()).toBe(2000);
    expect(() => a.admit()).toThrow(/next attempt in 2 s/);
    now += 2000;
    expect(() => a.admit()).not.toThrow();
    expect(a.burned).toBe(false); // a code the user chose is never burned, only slowed
  });

  test("a generated code dies after a few wrong attempts", () => {
    let now = 0;
    const a = new CodeAttempts(true, () => now);
    for (let i = 0; i < MAX_WRONG_GENERATED; i++) {
      expect(a.burned).toBe(false);
      a.failed();
      now += 60_000;
    }
    expect(a.burned).toBe(true);
    expect(() => a.admit()).toThrow(/no longer accepted/);
  });

  test("parallel failures queue their delays instead of overlapping", () => {
    const a = new CodeAttempts(false, () => 0);
    a.failed();
    a.failed();
    expect(a.delayMs()).toBe(1500);
  });
});
