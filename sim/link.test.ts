/** The simulated link's impairments, each checked on its own against seeded, exact expectations. */
import { expect, test } from "bun:test";
import { Link } from "./link.ts";
import { seededRandom } from "./rng.ts";

const packet = new Uint8Array(1250); // 1 ms at 1.25 MB/s
const base = { rateBytesPerSec: 1_250_000, delayMs: 25 };

function arrivals(link: Link, n: number, gapMs = 1): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) for (const a of link.offer(packet, i * gapMs)) out.push(a.at);
  return out;
}

test("a clean link serialises and delays, in order", () => {
  const at = arrivals(new Link(base, seededRandom(1)), 5);
  expect(at).toEqual([26, 27, 28, 29, 30]);
});

test("netem-style reordering: a reordered packet skips the delay (and so overtakes), but not the serialisation", () => {
  const link = new Link({ ...base, reorder: 0.1 }, seededRandom(7));
  const at = arrivals(link, 2000);
  const early = at.filter((t, i) => t === i + 1);
  const normal = at.filter((t, i) => t === i + 26);
  expect(early.length).toBe(link.counters.reordered);
  expect(early.length + normal.length).toBe(2000);
  // About 10 %, and each early packet arrives ahead of the 24 sent before it.
  expect(link.counters.reordered).toBeGreaterThan(150);
  expect(link.counters.reordered).toBeLessThan(250);
  let overtaken = 0;
  for (let i = 1; i < at.length; i++) if ((at[i] as number) < (at[i - 1] as number)) overtaken++;
  expect(overtaken).toBeGreaterThan(100);
});

test("jitter adds up to jitterMs of delay; duplicates arrive twice and are counted", () => {
  const jittery = new Link({ ...base, jitterMs: 5 }, seededRandom(3));
  const at = arrivals(jittery, 500);
  const extra = at.map((t, i) => t - (i + 26));
  expect(Math.min(...extra)).toBeGreaterThanOrEqual(0);
  expect(Math.max(...extra)).toBeLessThan(5);
  expect(Math.max(...extra)).toBeGreaterThan(4);

  const dup = new Link({ ...base, duplicate: 0.2 }, seededRandom(4));
  const n = arrivals(dup, 1000).length;
  expect(n).toBe(1000 + dup.counters.duplicated);
  expect(dup.counters.duplicated).toBeGreaterThan(150);
  expect(dup.counters.delivered).toBe(n);
});

test("the same seed replays the same impairments", () => {
  const spec = { ...base, loss: 0.05, reorder: 0.02, jitterMs: 3, duplicate: 0.01, late: 0.01 };
  expect(arrivals(new Link(spec, seededRandom(9)), 3000)).toEqual(arrivals(new Link(spec, seededRandom(9)), 3000));
});
