import { expect, test } from "bun:test";
import fc from "fast-check";
import { COOKIE_LIFETIME_MS, type CookieInput, CookieJar } from "./cookie.ts";
import { COOKIE_BYTES } from "./wire/packet.ts";
import { writeU48 } from "./wire/varint.ts";

const input: CookieInput = {
  peer: "192.0.2.7|40000",
  clientCid: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]),
  serverCid: new Uint8Array([9, 10, 11, 12, 13, 14, 15, 16]),
  params: { maxDatagram: 65507, initialMaxData: 2 * 1024 * 1024, idleTimeoutMs: 30_000 },
};

test("a cookie verifies for the same peer and handshake within its lifetime, returning the mint time", () => {
  const jar = new CookieJar();
  const c = jar.mint(input, 1234.7);
  expect(c.byteLength).toBe(COOKIE_BYTES);
  expect(jar.verify(c, input, 1234.7)).toBe(1234);
  expect(jar.verify(c, input, 1235)).toBe(1234); // clock within the 1 ms of slack
  expect(jar.verify(c, input, 1234 + COOKIE_LIFETIME_MS)).toBe(1234);
  // A copy in a larger buffer (as a received datagram slice) verifies too.
  const dg = new Uint8Array(100);
  dg.set(c, 30);
  expect(jar.verify(dg.subarray(30, 30 + COOKIE_BYTES), input, 2000)).toBe(1234);
});

test("rejected after the lifetime, or from the future", () => {
  const jar = new CookieJar();
  const c = jar.mint(input, 50_000);
  expect(COOKIE_LIFETIME_MS).toBe(10_000);
  expect(jar.verify(c, input, 60_000)).toBe(50_000);
  expect(jar.verify(c, input, 60_001)).toBeNull();
  expect(jar.verify(c, input, 1e9)).toBeNull();
  expect(jar.verify(c, input, 49_999)).toBe(50_000); // within 1 ms
  expect(jar.verify(c, input, 49_998)).toBeNull();
});

test("rejected for another address or port, other CIDs or other params", () => {
  const jar = new CookieJar();
  const c = jar.mint(input, 100);
  const others: CookieInput[] = [
    { ...input, peer: "192.0.2.8|40000" },
    { ...input, peer: "192.0.2.7|40001" },
    { ...input, peer: "::ffff:192.0.2.7|40000" },
    { ...input, clientCid: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 9]) },
    { ...input, serverCid: new Uint8Array([9, 10, 11, 12, 13, 14, 15, 17]) },
    { ...input, params: { ...input.params, maxDatagram: 1472 } },
    { ...input, params: { ...input.params, initialMaxData: 1 } },
    { ...input, params: { ...input.params, idleTimeoutMs: 1 } },
  ];
  for (const other of others) expect(jar.verify(c, other, 200)).toBeNull();
  expect(jar.verify(c, input, 200)).toBe(100);
});

test("rejected by another jar (another key) and when the length is wrong", () => {
  const jar = new CookieJar();
  const c = jar.mint(input, 100);
  expect(new CookieJar().verify(c, input, 100)).toBeNull();
  expect(jar.verify(c.subarray(0, COOKIE_BYTES - 1), input, 100)).toBeNull();
  const longer = new Uint8Array(COOKIE_BYTES + 1);
  longer.set(c);
  expect(jar.verify(longer, input, 100)).toBeNull();
  expect(jar.verify(new Uint8Array(COOKIE_BYTES), input, 100)).toBeNull();
});

test("any single bit flip is rejected", () => {
  const jar = new CookieJar();
  const c = jar.mint(input, 5000);
  fc.assert(
    fc.property(fc.nat({ max: COOKIE_BYTES - 1 }), fc.integer({ min: 0, max: 7 }), (at, bit) => {
      const t = c.slice();
      t[at] = (t[at] as number) ^ (1 << bit);
      expect(jar.verify(t, input, 5000)).toBeNull();
    }),
  );
});

test("re-stamping a cookie to look fresher is rejected (the time is under the MAC)", () => {
  const jar = new CookieJar();
  const c = jar.mint(input, 1000);
  const t = c.slice();
  writeU48(new DataView(t.buffer), 0, 20_000);
  expect(jar.verify(t, input, 20_000)).toBeNull();
  expect(jar.verify(c, input, 20_000)).toBeNull();
});

test("random peers and CIDs: valid only for exactly the minted input", () => {
  const jar = new CookieJar();
  const cid = fc.uint8Array({ minLength: 8, maxLength: 8 });
  fc.assert(
    fc.property(
      fc.string({ minLength: 1, maxLength: 30 }),
      cid,
      cid,
      fc.string({ maxLength: 30 }),
      (peer, a, b, other) => {
        const mine = { ...input, peer, clientCid: a, serverCid: b };
        const c = jar.mint(mine, 777);
        expect(jar.verify(c, mine, 800)).toBe(777);
        if (other !== peer) expect(jar.verify(c, { ...mine, peer: other }, 800)).toBeNull();
      },
    ),
    { numRuns: 200 },
  );
});

// Regression: the MAC input was once peer ‖ clientCid ‖ serverCid ‖ "stamp|…" with no boundaries,
// so a cookie for "…|5000" whose client CID starts with '1' also authenticated "…|50001" with both
// CIDs shifted one byte and the stamp's first digit dropped.
test("a cookie cannot be re-aimed at a peer whose name extends the original one", () => {
  const jar = new CookieJar();
  const clientCid = new Uint8Array([0x31, 2, 3, 4, 5, 6, 7, 8]); // starts with "1"
  const serverCid = new Uint8Array([0x41, 10, 11, 12, 13, 14, 15, 16]);
  const real = { ...input, peer: "10.0.0.1|5000", clientCid, serverCid };
  const cookie = jar.mint(real, 9500);
  const forged = cookie.slice();
  writeU48(new DataView(forged.buffer), 0, 500); // "9500" minus its first digit
  const spoofed: CookieInput = {
    ...input,
    peer: "10.0.0.1|50001",
    clientCid: Uint8Array.from([...clientCid.subarray(1), serverCid[0] as number]),
    serverCid: Uint8Array.from([...serverCid.subarray(1), "9".charCodeAt(0)]),
  };
  expect(jar.verify(forged, spoofed, 9501)).toBeNull();
});
