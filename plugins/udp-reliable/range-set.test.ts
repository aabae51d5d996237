import { expect, test } from "bun:test";
import fc from "fast-check";
import { RangeSet } from "./range-set.ts";

const N = 120;

type Op = { kind: "add"; start: number; end: number } | { kind: "trim"; floor: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("add" as const), start: fc.nat(N), end: fc.nat(N) }) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.nat(N - 1), fc.integer({ min: 1, max: 6 }))
      .map(([start, len]) => ({ kind: "add" as const, start, end: Math.min(N, start + len) })),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("trim" as const), floor: fc.nat(N) }) },
);

/** The model's members as half-open ranges, ascending. */
function modelRanges(model: boolean[]): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (let i = 0; i < model.length; i++) {
    if (!model[i]) continue;
    const last = out[out.length - 1];
    if (last && last.end === i) last.end = i + 1;
    else out.push({ start: i, end: i + 1 });
  }
  return out;
}

function modelMissing(model: boolean[], start: number, end: number): { start: number; end: number }[] {
  const gaps = modelRanges(model.map((v, i) => !v && i >= start && i < end));
  return gaps;
}

test("random add/trim sequences match a boolean-array model, queries included", () => {
  fc.assert(
    fc.property(
      fc.array(op, { maxLength: 40 }),
      fc.array(fc.tuple(fc.nat(N - 1), fc.integer({ min: 1, max: 30 })), { minLength: 5, maxLength: 5 }),
      (ops, queries) => {
        const set = new RangeSet();
        const model: boolean[] = new Array(N + 1).fill(false);
        for (const o of ops) {
          if (o.kind === "add") {
            set.add(o.start, o.end);
            for (let i = o.start; i < o.end; i++) model[i] = true;
          } else {
            set.trimBelow(o.floor);
            for (let i = 0; i < o.floor; i++) model[i] = false;
          }
          // Normal form: sorted, non-empty, disjoint and non-adjacent, so equal sets have equal ranges.
          expect(set.ranges).toEqual(modelRanges(model));
          for (const [start, len] of queries) {
            const end = Math.min(N + 1, start + len);
            const all = model.slice(start, end).every(Boolean);
            expect(set.covers(start, end)).toBe(all);
            expect(set.missing(start, end)).toEqual(modelMissing(model, start, end));
          }
        }
      },
    ),
  );
});

test("adds merge with overlapping and adjacent ranges only", () => {
  const s = new RangeSet();
  s.add(10, 20);
  s.add(30, 40);
  expect(s.ranges).toEqual([
    { start: 10, end: 20 },
    { start: 30, end: 40 },
  ]);
  s.add(20, 21); // adjacent to the first
  s.add(29, 30); // adjacent to the second
  expect(s.ranges).toEqual([
    { start: 10, end: 21 },
    { start: 29, end: 40 },
  ]);
  s.add(5, 5);
  s.add(7, 3);
  expect(s.ranges.length).toBe(2);
  s.add(0, 100);
  expect(s.ranges).toEqual([{ start: 0, end: 100 }]);
});

test("covers, missing and trimBelow on a concrete set", () => {
  const s = new RangeSet();
  s.add(0, 10);
  s.add(20, 30);
  expect(s.covers(0, 10)).toBe(true);
  expect(s.covers(5, 11)).toBe(false);
  expect(s.covers(9, 21)).toBe(false);
  expect(s.covers(25, 30)).toBe(true);
  expect(s.missing(5, 35)).toEqual([
    { start: 10, end: 20 },
    { start: 30, end: 35 },
  ]);
  expect(s.missing(20, 30)).toEqual([]);
  s.trimBelow(25);
  expect(s.ranges).toEqual([{ start: 25, end: 30 }]);
  s.trimBelow(30);
  expect(s.ranges).toEqual([]);
});

test("large offsets (beyond 2^32) behave like small ones", () => {
  const base = 2 ** 40;
  const s = new RangeSet();
  s.add(base + 100, base + 200);
  s.add(base, base + 100);
  expect(s.ranges).toEqual([{ start: base, end: base + 200 }]);
  expect(s.covers(base + 50, base + 150)).toBe(true);
  expect(s.missing(base - 10, base + 210)).toEqual([
    { start: base - 10, end: base },
    { start: base + 200, end: base + 210 },
  ]);
});
