import { expect, test } from "bun:test";
import fc from "fast-check";
import { NameTable } from "./name-table.ts";

test("property: finds exactly the names added, by the number add gave, across growth", () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.string({ maxLength: 6 }), fc.string({ unit: "binary", maxLength: 400 })), {
        maxLength: 3000,
      }),
      (names) => {
        const table = new NameTable();
        const ids = new Map<string, number>();
        for (const name of names) {
          const found = table.find(name);
          expect(found).toBe(ids.get(name) ?? -1);
          if (found < 0) ids.set(name, table.add(name));
        }
        expect(table.size).toBe(ids.size);
        for (const [name, id] of ids) {
          expect(table.find(name)).toBe(id);
          expect(table.name(id)).toBe(name);
        }
        expect(table.find("\u0000not-added")).toBe(-1);
      },
    ),
    { numRuns: 60, seed: 14 },
  );
});
