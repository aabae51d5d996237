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

const progressOf = (events: XferEvent[]) => events.flatMap((e) => (e.event === "progress" ? [e] : []));

test("with acknowledgements the bar shows what the receiver has, not what was queued", () => {
  let now = 0;
  const events: XferEvent[] = [];
  const p = new Progress(
    (e) => events.push(e),
    1000,
    () => now,
  );
  p.useAcknowledgements();
  now += 300;
  p.add(800); // queued in the transport's buffers: not shown
  expect(progressOf(events)).toEqual([]);
  p.acknowledge(200);
  expect(progressOf(events).at(-1)).toMatchObject({ bytes: 200, totalBytes: 1000 });
  now += 300;
  p.acknowledge(5000); // never more than was sent
  expect(progressOf(events).at(-1)).toMatchObject({ bytes: 800 });
  now += 300;
  p.acknowledge(100); // an older count arriving late does not move the bar back
  expect(progressOf(events).at(-1)).toMatchObject({ bytes: 800 });
  p.add(200);
  p.flush(true);
  expect(progressOf(events).at(-1)).toMatchObject({ bytes: 1000, etaSeconds: 0 });
  expect(p.transferred).toBe(1000);
});

test("bytes already there count toward one total, are reported as such, and are not read as speed", () => {
  let now = 0;
  const events: XferEvent[] = [];
  const p = new Progress(
    (e) => events.push(e),
    1_000_000,
    () => now,
  );
  p.alreadyThere(600_000);
  now += 1000;
  p.add(100_000);
  const first = progressOf(events).at(-1)!;
  expect(first).toMatchObject({ bytes: 700_000, totalBytes: 1_000_000, alreadyThere: 600_000 });
  expect(first.rateBytesPerSec).toBe(100_000);
  expect(first.etaSeconds).toBe(3);
  expect(p.transferred).toBe(100_000);
});

test("the file named is the one at the position shown: on an acknowledging sender, behind the one queued", () => {
  let now = 0;
  const events: XferEvent[] = [];
  const p = new Progress(
    (e) => events.push(e),
    300,
    () => now,
  );
  p.useAcknowledgements();
  p.file = "a";
  p.add(100);
  p.file = "empty"; // an identical file already there: no bytes of its own
  p.file = "b";
  p.add(100);
  p.file = "c";
  p.add(100);
  now += 300;
  p.acknowledge(50);
  expect(progressOf(events).at(-1)).toMatchObject({ file: "a", fileNumber: 1 });
  now += 300;
  p.acknowledge(150);
  expect(progressOf(events).at(-1)).toMatchObject({ file: "b", fileNumber: 3 });
  now += 300;
  p.acknowledge(250);
  expect(progressOf(events).at(-1)).toMatchObject({ file: "c", fileNumber: 4 });
});

test("thousands of files: the bar still names the file at the acknowledged position as old ones are forgotten", () => {
  const events: XferEvent[] = [];
  let now = 0;
  const p = new Progress(
    (e) => events.push(e),
    5000,
    () => now,
  );
  p.useAcknowledgements();
  for (let i = 0; i < 5000; i++) {
    p.file = `f${i}`;
    p.add(1);
  }
  for (const at of [10, 1500, 1501, 3000, 4999]) {
    now += 300;
    p.acknowledge(at);
    expect(progressOf(events).at(-1)).toMatchObject({ file: `f${at}`, fileNumber: at + 1 });
  }
});

test("a run of empty files keeps one entry, and the bar names the last of them with its number", () => {
  const events: XferEvent[] = [];
  let now = 0;
  const p = new Progress(
    (e) => events.push(e),
    10,
    () => now,
  );
  p.useAcknowledgements();
  p.file = "big";
  p.add(10);
  for (let i = 0; i < 100_000; i++) p.file = `empty${i}`;
  // The list itself: one entry for "big", one for the whole run (it held 100,001 before).
  expect((p as unknown as { files: unknown[] }).files.length).toBe(2);
  now += 300;
  p.acknowledge(5);
  expect(progressOf(events).at(-1)).toMatchObject({ file: "big", fileNumber: 1 });
  now += 300;
  p.acknowledge(10);
  expect(progressOf(events).at(-1)).toMatchObject({ file: "empty99999", fileNumber: 100_001 });
});
