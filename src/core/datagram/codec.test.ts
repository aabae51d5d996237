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

test("a control message longer than a datagram is split and reassembled in any order", async () => {
  const { DatagramInbox } = await import("./control.ts");
  const message = { type: "dg-offer", names: Array.from({ length: 300 }, (_, i) => `folder/file-${i}.bin`) };
  const parts = encodeControl(7, message, 200);
  expect(parts.length).toBeGreaterThan(10);
  for (const p of parts) expect(p.byteLength).toBeLessThanOrEqual(200);
  const shuffled = [...parts.slice(1).reverse(), parts[0] as Uint8Array, parts[3] as Uint8Array];
  const inbox = new DatagramInbox({
    remote: "test",
    maxDatagramSize: 200,
    send: async () => {},
    close() {},
    datagrams: (async function* () {
      yield* shuffled;
    })(),
  });
  const got = await inbox.next(1000);
  expect(got).toEqual({ kind: "control", session: 7, json: JSON.stringify(message) });
  expect(await inbox.next(50)).toBeNull();
});
