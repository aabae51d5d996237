import { expect, test } from "bun:test";
import fc from "fast-check";
import { decodeUnit, encodeUnit, FecDecoder, FecEncoder, parseFec } from "./fec.ts";

const UNIT = 12 + 64;

function run(k: number, m: number, count: number, lost: Set<number>) {
  const enc = new FecEncoder({ k, m }, UNIT);
  const dec = new FecDecoder({ k, m }, 1_000_000);
  const units = Array.from({ length: count }, (_, s) =>
    encodeUnit(s % 3, s * 64, new Uint8Array(1 + (s % 64)).fill(s & 0xff), UNIT),
  );
  const got = new Map<number, Uint8Array>();
  const parities: [number, number, Uint8Array][] = [];
  for (const [s, u] of units.entries()) {
    parities.push(...enc.add(u));
    if (!lost.has(s)) {
      got.set(s, u);
      dec.addData(s, u, null);
    }
  }
  parities.push(...enc.flush());
  for (const [b, j, p] of parities) for (const r of dec.addParity(b, j, p, count)) got.set(r.seq, r.unit);
  for (const r of dec.recoverAll(count)) got.set(r.seq, r.unit);
  return { units, got, dec };
}

test("one loss per class per block is always rebuilt exactly", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 200 }),
      fc.nat(),
      (k, m, count, seed) => {
        const size = k * m;
        const lost = new Set<number>();
        // Lose at most one member of each class in each block.
        for (let b = 0; b * size < count; b++)
          for (let j = 0; j < m; j++) {
            const i = (seed + b * 7 + j * 3) % k;
            const s = b * size + i * m + j;
            if (s < count && (seed + b + j) % 2 === 0) lost.add(s);
          }
        const { units, got } = run(k, m, count, lost);
        for (const [s, u] of units.entries()) expect(got.get(s)).toEqual(u);
        for (const s of lost) expect(decodeUnit(got.get(s) as Uint8Array)?.offset).toBe(s * 64);
      },
    ),
  );
});

test("a burst of m consecutive losses is rebuilt; two losses in one class are not", () => {
  const burst = run(5, 3, 60, new Set([16, 17, 18]));
  expect(burst.got.size).toBe(60);
  const two = run(5, 3, 60, new Set([16, 19]));
  expect(two.got.has(16) || two.got.has(19)).toBe(false);
});

test("--fec is parsed strictly", () => {
  expect(parseFec("10:2")).toEqual({ k: 10, m: 2 });
  for (const bad of ["10", "0:1", "10:0", "a:b", "100:1"]) expect(() => parseFec(bad)).toThrow();
});
