import { expect, test } from "bun:test";
import type { XferEvent } from "./events.ts";
import { Progress } from "./progress.ts";

test("progress is throttled and reports rate and ETA from an injected clock", () => {
  let now = 0;
  const events: XferEvent[] = [];
  const p = new Progress(
    (e) => events.push(e),
    10_000_000,
    () => now,
  );
  for (let i = 0; i < 40; i++) {
    now += 100; // 100 ms per megabyte: 10 MB/s
    p.add(1_000_000 / 4);
  }
  p.flush();
  const progress = events.filter((e) => e.event === "progress");
  expect(progress.length).toBeLessThanOrEqual(40 / 2.5 + 1);
  const last = progress.at(-1)!;
  expect(last).toMatchObject({ bytes: 10_000_000, totalBytes: 10_000_000, etaSeconds: 0 });
  expect(last.event === "progress" && last.rateBytesPerSec).toBeCloseTo(2_500_000, -5);
});
