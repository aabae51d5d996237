import { expect, test } from "bun:test";
import fc from "fast-check";
import { KeyTable } from "./key-table.ts";

// Keys from a small pool (so sets, deletes and collisions meet) of 52-bit values and near neighbours.
const key = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constantFrom(2 ** 52 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40 * 3));
const op = fc.oneof(
  fc.record({ do: fc.constant("set" as const), key, id: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ do: fc.constant("delete" as const), key }),
  fc.record({ do: fc.constant("deleteAll" as const), id: fc.integer({ min: 1, max: 4 }) }),
);

test("behaves as a Map of key to id under any sequence of sets and deletes (property)", () => {
  fc.assert(
    fc.property(fc.constantFrom(2, 8, 1024), fc.array(op, { maxLength: 300 }), (slots, ops) => {
      const table = new KeyTable(slots);
      const map = new Map<number, number>();
      for (const o of ops) {
        if (o.do === "set") {
          table.set(o.key, o.id);
          map.set(o.key, o.id);
        } else if (o.do === "delete") {
          table.delete(o.key);
          map.delete(o.key);
        } else {
          table.deleteAll(o.id);
          for (const [k, v] of map) if (v === o.id) map.delete(k);
        }
        expect(table.size).toBe(map.size);
      }
      for (let k = 0; k <= 40; k++) expect(table.get(k)).toBe(map.get(k) ?? 0);
      for (const k of [2 ** 52 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40 * 3]) expect(table.get(k)).toBe(map.get(k) ?? 0);
    }),
    { numRuns: 500 },
  );
});

test("grows to many keys and releases one holder's at once", () => {
  const table = new KeyTable(2);
  for (let i = 0; i < 100_000; i++) table.set(i * 7919 * 2 ** 20 + i, (i % 2) + 1);
  expect(table.size).toBe(100_000);
  table.deleteAll(1);
  expect(table.size).toBe(50_000);
  expect(table.get(1 * 7919 * 2 ** 20 + 1)).toBe(2);
  expect(table.get(0)).toBe(0);
});
