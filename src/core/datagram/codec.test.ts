import { expect, test } from "bun:test";
import fc from "fast-check";
import { DATA_HEADER, decode, encodeControl, encodeData } from "./codec.ts";

test("data datagrams round-trip every field", () => {
  fc.assert(
    fc.property(
      fc.nat({ max: 2 ** 32 - 1 }),
      fc.nat({ max: 2 ** 32 - 1 }),
      fc.nat({ max: 2 ** 32 - 1 }),
      fc.nat({ max: 2 ** 48 - 1 }),
      fc.uint8Array({ maxLength: 1500 }),
      (session, seq, file, offset, payload) => {
        const d = decode(encodeData(session, seq, file, offset, payload));
        expect(d).toEqual({ kind: "data", session, seq, file, offset, payload, intact: true });
      },
    ),
  );
});

test("a flipped payload bit fails the CRC; a cut datagram does not parse", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 1400 }),
      fc.nat(),
      fc.integer({ min: 0, max: 7 }),
      (p, at, bit) => {
        const d = encodeData(1, 2, 3, 4, p);
        const i = DATA_HEADER + (at % p.byteLength);
        d[i] = (d[i] as number) ^ (1 << bit);
        expect(decode(d)).toMatchObject({ kind: "data", intact: false });
        expect(decode(d.subarray(0, d.byteLength - 1))).toBeNull();
      },
    ),
  );
});

test("arbitrary bytes decode to null or a datagram, never throw", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const d = decode(bytes);
      expect(d === null || d.kind === "data" || d.kind === "control").toBe(true);
    }),
  );
});

test("control datagrams carry their JSON", () => {
  const d = decode(encodeControl(7, { type: "dg-accept" }));
  expect(d).toEqual({ kind: "control", session: 7, json: '{"type":"dg-accept"}' });
});
