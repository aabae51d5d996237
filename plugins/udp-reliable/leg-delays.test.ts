import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { seededRandom } from "../../sim/rng.ts";
import { LegDelays, SLOT_SAMPLES } from "./leg-delays.ts";

/**
 * A path of `forward` + `back` ms with the peer's clock `offset` ms ahead: packet pn is sent at
 * pn·gap, and its ACK frame (naming it the latest arrival) is written on arrival. `early` lists
 * packets that skip `skip` ms on the way out, `earlyAck` frames that skip it on the way back.
 */
function run(opts: {
  n: number;
  forward: number;
  back: number;
  offset?: number;
  gap?: number;
  hold?: number;
  skip?: number;
  early?: (pn: number) => boolean;
  earlyAck?: (pn: number) => boolean;
}): number[] {
  const { n, forward, back, offset = 0, gap = 1, hold = 400, skip = 0 } = opts;
  const frames = Array.from({ length: n }, (_, pn) => {
    const sentAt = pn * gap;
    const receivedAt = sentAt + forward - (opts.early?.(pn) ? skip : 0);
    const arrives = receivedAt + back - (opts.earlyAck?.(pn) ? skip : 0);
    return { pn, sentAt, peerReceivedAt: receivedAt + offset, peerWrittenAt: receivedAt + offset, arrives };
  }).sort((a, b) => a.arrives - b.arrives);
  const legs = new LegDelays();
  const out: number[] = [];
  for (const f of frames) {
    const rtt = legs.onFrame(f.peerWrittenAt, f.arrives, f.pn, f.peerReceivedAt, f.sentAt, hold);
    if (rtt !== undefined) out.push(rtt);
  }
  return out;
}

describe("the round trip from both legs", () => {
  test("on a FIFO path each slot reads the round trip, whatever the clocks' offset", () => {
    for (const offset of [0, 123_456.5, -98_765])
      expect(new Set(run({ n: 20 * SLOT_SAMPLES, forward: 150, back: 150, offset }))).toEqual(new Set([300]));
  });

  test("nothing before a slot of each leg is full", () => {
    expect(run({ n: SLOT_SAMPLES - 1, forward: 10, back: 10, hold: 0 })).toEqual([]);
  });

  test("reordered packets and ACKs never read as the round trip (netem's reorder, 300 ms path)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 }), fc.integer({ min: 1, max: 5 }), (seed, pct) => {
        // Independent, seeded: up to 5 % of packets and of ACKs skip the whole 150 ms of their leg.
        const random = seededRandom(seed);
        const early = new Set<number>();
        const earlyAck = new Set<number>();
        for (let pn = 0; pn < 100 * SLOT_SAMPLES; pn++) {
          if (random() < pct / 100) early.add(pn);
          if (random() < pct / 100) earlyAck.add(pn);
        }
        const rtts = run({
          n: 100 * SLOT_SAMPLES,
          hold: 340,
          forward: 150,
          back: 150,
          skip: 150,
          gap: 0.12,
          early: (pn) => early.has(pn),
          earlyAck: (pn) => earlyAck.has(pn),
        });
        expect(rtts.length).toBeGreaterThan(0);
        for (const r of rtts) expect(r).toBeCloseTo(300, 6);
      }),
      { numRuns: 50 },
    );
  });

  test("a slot reads its lowest sample within the tolerance below its median: fewer than half early ones do not move it", () => {
    // hold 100: tolerance 12.5 ms.
    const opts = { n: 16 * SLOT_SAMPLES, forward: 100, back: 50, skip: 60, hold: 100 };
    const fewer = (pn: number) => pn % SLOT_SAMPLES < SLOT_SAMPLES / 2 - 1;
    expect(new Set(run({ ...opts, early: fewer }))).toEqual(new Set([150]));
    const half = (pn: number) => pn % SLOT_SAMPLES <= SLOT_SAMPLES / 2;
    expect(Math.min(...run({ ...opts, early: half }))).toBe(90);
    // A skip within the tolerance (jitter, a slightly faster path) is read, and costs at most that.
    expect(Math.min(...run({ ...opts, skip: 10, early: (pn) => pn % 5 === 0 }))).toBe(140);
  });

  test("a frame naming the same latest packet again adds nothing to the forward leg", () => {
    const legs = new LegDelays();
    let rtt: number | undefined;
    // Back samples alone complete slots, but there is no forward reading to add them to.
    for (let i = 0; i < 4 * SLOT_SAMPLES; i++) rtt ??= legs.onFrame(i, i + 20, 7, 0, -30, 0);
    expect(rtt).toBeUndefined();
  });

  test("the delivery clock: an ACK that came early is timed as if it had not", () => {
    const legs = new LegDelays();
    expect(legs.unhurriedArrival(1000)).toBeUndefined();
    for (let pn = 0; pn < 2 * SLOT_SAMPLES; pn++) legs.onFrame(pn + 5_000 + 40, pn + 80, pn, pn + 5_000 + 40, pn, 0);
    // Back leg: arrival − written = (pn + 80) − (pn + 5040) = −4960 on the peer's clock.
    expect(legs.unhurriedArrival(5_200)).toBe(240);
  });
});
