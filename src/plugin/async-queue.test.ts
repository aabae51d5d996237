import { describe, expect, test } from "bun:test";
import { AsyncQueue } from "./async-queue.ts";

async function drain<T>(q: AsyncQueue<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of q) out.push(x);
  return out;
}

describe("AsyncQueue", () => {
  test("items in order, then the end; a reader waiting before the push is woken", async () => {
    const q = new AsyncQueue<number>();
    const read = drain(q);
    await Bun.sleep(1);
    for (let i = 0; i < 5; i++) q.push(i);
    q.end();
    expect(await read).toEqual([0, 1, 2, 3, 4]);
    expect(q.push(9)).toBe(false); // nothing after the end
  });

  test("maxItems: beyond it items are dropped and counted", async () => {
    const q = new AsyncQueue<number>({ maxItems: 3 });
    const accepted = [1, 2, 3, 4, 5].map((i) => q.push(i));
    expect(accepted).toEqual([true, true, true, false, false]);
    expect(q.overflow).toBe(2);
    q.end();
    expect(await drain(q)).toEqual([1, 2, 3]);
  });

  test("watermarks pause above the high mark and resume below the low one, once each", async () => {
    const calls: string[] = [];
    const q = new AsyncQueue<Uint8Array>({
      watermarks: {
        sizeOf: (c) => c.byteLength,
        highWaterBytes: 10,
        lowWaterBytes: 4,
        pause: () => calls.push("pause"),
        resume: () => calls.push("resume"),
      },
    });
    for (let i = 0; i < 4; i++) q.push(new Uint8Array(4)); // 16 bytes: over 10 at the third
    expect(calls).toEqual(["pause"]);
    await q.next(); // 12 left
    await q.next(); // 8
    expect(calls).toEqual(["pause"]);
    await q.next(); // 4: not below 4
    expect(calls).toEqual(["pause"]);
    await q.next(); // 0
    expect(calls).toEqual(["pause", "resume"]);
  });

  test("a failure reaches the reader after what was queued", async () => {
    const q = new AsyncQueue<number>();
    q.push(1);
    q.fail(new Error("reset"));
    q.fail(new Error("second")); // the first one stands
    const seen: number[] = [];
    const err = await (async () => {
      for await (const x of q) seen.push(x);
    })().catch((e: Error) => e.message);
    expect(seen).toEqual([1]);
    expect(err).toBe("reset");
  });

  test("next(timeout) gives null on timeout and on end, and timed-out readers do not pile up", async () => {
    const q = new AsyncQueue<number>();
    for (let i = 0; i < 50; i++) expect(await q.next(0)).toBeNull();
    expect(await q.next(5)).toBeNull();
    expect((q as unknown as { waiters: unknown[] }).waiters.length).toBe(0);
    setTimeout(() => q.push(7), 5);
    expect(await q.next(1000)).toBe(7);
    q.end();
    expect(await q.next(1000)).toBeNull();
  });

  test("two readers waiting at once both wake (each gets an item)", async () => {
    const q = new AsyncQueue<number>();
    const a = q.next(1000);
    const b = q.next(1000);
    q.push(1);
    q.push(2);
    expect((await Promise.all([a, b])).sort()).toEqual([1, 2]);
  });

  test("long runs stay in order across compaction (many more items than the compaction point)", async () => {
    const q = new AsyncQueue<number>();
    const got: number[] = [];
    let next = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 700; i++) q.push(next++);
      for (let i = 0; i < 500; i++) got.push((await q.next(0)) as number);
    }
    q.end();
    got.push(...(await drain(q)));
    expect(got).toEqual(Array.from({ length: next }, (_, i) => i));
  });
});
