/** The loss report against a seeded simulated link whose drops, duplicates and reorders are known. */
import { expect, test } from "bun:test";
import fc from "fast-check";
import { seededRandom } from "../../../sim/rng.ts";
import { Coverage, Tally } from "./tally.ts";

test("the report matches a seeded link's drops, duplicates and reorders exactly", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 2000 }),
      fc.double({ min: 0, max: 0.5, noNaN: true }),
      fc.double({ min: 0, max: 0.2, noNaN: true }),
      fc.nat(),
      (count, lossRate, dupRate, seed) => {
        const random = seededRandom(seed);
        const arrivals: number[] = [];
        const dropped = new Set<number>();
        let duplicates = 0;
        for (let seq = 0; seq < count; seq++) {
          if (random() < lossRate) {
            dropped.add(seq);
            continue;
          }
          arrivals.push(seq);
          if (random() < dupRate) {
            arrivals.push(seq);
            duplicates++;
          }
        }
        // Reorder: swap neighbours now and then; count what arrives below the highest seen.
        for (let i = 1; i < arrivals.length; i++)
          if (random() < 0.1) [arrivals[i - 1], arrivals[i]] = [arrivals[i] as number, arrivals[i - 1] as number];
        let highest = -1;
        let reordered = 0;
        const seen = new Set<number>();
        for (const s of arrivals) {
          if (seen.has(s)) continue;
          seen.add(s);
          if (s < highest) reordered++;
          else highest = s;
        }
        const tally = new Tally();
        for (const s of arrivals) tally.record(s, true);
        expect(tally.report(count)).toEqual({
          expected: count,
          received: count - dropped.size,
          lost: dropped.size,
          recovered: 0,
          duplicated: duplicates,
          reordered,
          corrupt: 0,
        });
      },
    ),
  );
});

test("missing ranges are exactly the bytes of the datagrams that never arrived", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 100 }), fc.nat(), (count, chunk, seed) => {
      const random = seededRandom(seed);
      const size = count * chunk - Math.floor(random() * chunk);
      const cover = new Coverage();
      const expectedMissing: [number, number][] = [];
      const order = [...Array(count).keys()].sort(() => random() - 0.5);
      const lost = new Set(order.filter(() => random() < 0.2));
      for (const i of order) if (!lost.has(i)) cover.add(i * chunk, Math.min(size, (i + 1) * chunk));
      for (let i = 0; i < count; i++) {
        if (!lost.has(i)) continue;
        const s = i * chunk;
        const e = Math.min(size, (i + 1) * chunk);
        const last = expectedMissing[expectedMissing.length - 1];
        if (last && last[1] === s) last[1] = e;
        else expectedMissing.push([s, e]);
      }
      expect(cover.missing(size)).toEqual(expectedMissing.filter(([s, e]) => e > s));
    }),
  );
});

test("corrupt datagrams are counted and not written", () => {
  const t = new Tally();
  expect(t.record(0, false)).toBe(false);
  expect(t.record(0, true)).toBe(true);
  expect(t.report(1)).toMatchObject({ received: 1, corrupt: 1, lost: 0 });
});
