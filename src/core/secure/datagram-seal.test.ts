import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { DatagramOpener, DatagramSealer, REPLAY_WINDOW, SEALED_KIND, SEALED_OVERHEAD } from "./datagram-seal.ts";

const key = new Uint8Array(32).fill(3);

describe("sealed datagrams", () => {
  test("layout: kind, counter, ciphertext, tag", () => {
    const sealer = new DatagramSealer(key);
    sealer.seal(new Uint8Array(10));
    const d = sealer.seal(new Uint8Array(10));
    expect(d[0]).toBe(SEALED_KIND);
    expect(Buffer.from(d.subarray(1, 9)).toString("hex")).toBe("0000000000000001");
    expect(d.byteLength).toBe(10 + SEALED_OVERHEAD);
  });

  test("every datagram opens once, in any order; replays are dropped and counted (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer(), (n, seed) => {
        const sealer = new DatagramSealer(key);
        const sent = Array.from({ length: n }, (_, i) => sealer.seal(new Uint8Array([i & 255, i >> 8])));
        // A deterministic shuffle plus duplicates of some datagrams.
        const order = sent.map((d, i) => ({ d, k: Math.sin(seed + i) })).sort((a, b) => a.k - b.k);
        const arrivals = [...order.map((o) => o.d), ...sent.filter((_, i) => (seed + i) % 3 === 0)];
        const opener = new DatagramOpener(key);
        const opened = arrivals.map((d) => opener.open(d)).filter((p) => p !== null);
        expect(opened.length).toBe(n);
        expect(opener.replayed).toBe(arrivals.length - n);
        expect(opener.forged).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  test("one flipped bit anywhere drops the datagram as forged (property)", () => {
    const d = new DatagramSealer(key).seal(new Uint8Array(40).fill(9));
    fc.assert(
      fc.property(fc.integer({ min: 8, max: d.byteLength * 8 - 1 }), (bit) => {
        const bad = new Uint8Array(d);
        bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
        const opener = new DatagramOpener(key);
        expect(opener.open(bad)).toBeNull();
        expect(opener.forged).toBe(1);
        // The forgery did not burn the real datagram's counter.
        expect(opener.open(d)).not.toBeNull();
      }),
    );
  });

  test("a datagram older than the replay window is dropped, newer ones still open", () => {
    const sealer = new DatagramSealer(key);
    const old = sealer.seal(new Uint8Array(1));
    const all = Array.from({ length: REPLAY_WINDOW + 2 }, () => sealer.seal(new Uint8Array(1)));
    const opener = new DatagramOpener(key);
    expect(opener.open(all[all.length - 1]!)).not.toBeNull();
    expect(opener.open(old)).toBeNull();
    expect(opener.replayed).toBe(1);
    expect(opener.open(all[5]!)).not.toBeNull();
  });

  test("a foreign key, a short datagram: dropped", () => {
    const d = new DatagramSealer(new Uint8Array(32).fill(4)).seal(new Uint8Array(5));
    const opener = new DatagramOpener(key);
    expect(opener.open(d)).toBeNull();
    expect(opener.open(new Uint8Array([SEALED_KIND, 0, 0]))).toBeNull();
    expect(opener.forged).toBe(2);
  });
});
