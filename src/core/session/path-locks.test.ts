import { describe, expect, test } from "bun:test";
import { type LockHolder, PathLocks, pathKey, TAKEOVER_SILENCE_MS, TAKEOVER_WAIT_MS } from "./path-locks.ts";

function holder(silentMs: () => number, locks: PathLocks, paths: string[]): LockHolder & { aborted: boolean } {
  const h = {
    aborted: false,
    silentForMs: silentMs,
    abort() {
      h.aborted = true;
      // As a real session does: it unwinds and unlocks a moment later.
      setTimeout(() => locks.unlock(paths, h), 10);
    },
  };
  return h;
}

describe("path locks", () => {
  test("two holders never share a path; a holder may lock again what it holds", () => {
    const locks = new PathLocks();
    const a = holder(() => 0, locks, ["x"]);
    const b = holder(() => 0, locks, ["x"]);
    expect(locks.tryLock(["x", "y"], a)).toEqual([]);
    expect(locks.tryLock(["y"], b)).toEqual([a]);
    expect(locks.tryLock(["x"], a)).toEqual([]);
    locks.unlock(["x", "y"], a);
    expect(locks.tryLock(["y"], b)).toEqual([]);
  });

  test("unlockAll frees what a holder locked page after page, and only that", () => {
    const locks = new PathLocks();
    const a = holder(() => 0, locks, []);
    const b = holder(() => 0, locks, []);
    expect(locks.tryLock(["p/1", "p/2"], a)).toEqual([]);
    expect(locks.tryLock(["p/3"], a)).toEqual([]);
    expect(locks.tryLock(["q"], b)).toEqual([]);
    locks.unlockAll(a);
    expect(locks.tryLock(["p/1", "p/3"], b)).toEqual([]);
    expect(locks.tryLock(["q"], a)).toEqual([b]);
  });

  test("path keys: 10^5 paths of one tree, no two alike", () => {
    const keys = new Set<number>();
    for (let d = 0; d < 100; d++) for (let f = 0; f < 1000; f++) keys.add(pathKey(`t/${d}/${f}`));
    expect(keys.size).toBe(100_000);
    expect(Number.isSafeInteger(pathKey("x".repeat(5000)))).toBe(true);
  });

  test("a silent holder is taken over at once", async () => {
    const locks = new PathLocks();
    const dead = holder(() => TAKEOVER_SILENCE_MS, locks, ["f"]);
    locks.tryLock(["f"], dead);
    const started = Date.now();
    expect(
      await locks.lock(
        ["f"],
        holder(() => 0, locks, ["f"]),
      ),
    ).toBe(true);
    expect(dead.aborted).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test("a holder that stays alive keeps its paths; the newcomer is refused after the wait", async () => {
    const locks = new PathLocks();
    const live = holder(() => 0, locks, ["f"]);
    locks.tryLock(["f"], live);
    let t = 0;
    const clock = () => (t += 1000);
    expect(
      await locks.lock(
        ["f"],
        holder(() => 0, locks, ["f"]),
        clock,
      ),
    ).toBe(false);
    expect(live.aborted).toBe(false);
    expect(t).toBeGreaterThanOrEqual(TAKEOVER_WAIT_MS);
  });

  test("a holder that falls silent during the wait is taken over then", async () => {
    const locks = new PathLocks();
    let silent = 0;
    const fading = holder(() => silent, locks, ["f"]);
    locks.tryLock(["f"], fading);
    setTimeout(() => (silent = TAKEOVER_SILENCE_MS), 200);
    expect(
      await locks.lock(
        ["f"],
        holder(() => 0, locks, ["f"]),
      ),
    ).toBe(true);
    expect(fading.aborted).toBe(true);
  });
});

test("a holder is forgotten once it holds nothing, and its paths are free for the next", () => {
  const locks = new PathLocks();
  const a = { silentForMs: () => 0, abort: () => {} };
  const b = { silentForMs: () => 0, abort: () => {} };
  expect(locks.tryLock(["x", "y", "x"], a)).toEqual([]);
  expect(locks.tryLock(["y"], b)).toEqual([a]);
  locks.unlock(["x"], a);
  expect(locks.tryLock(["x"], b)).toEqual([]);
  locks.unlock(["y"], a);
  expect((locks as unknown as { ids: Map<unknown, number> }).ids.has(a)).toBe(false);
  expect(locks.tryLock(["y"], b)).toEqual([]);
  locks.unlockAll(b);
  expect(locks.tryLock(["x", "y"], a)).toEqual([]);
});
