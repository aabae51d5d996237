import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { SLOT_SAMPLES } from "./leg-delays.ts";
import { sentPacket } from "./sent-packet.fixture.ts";
import { PACKET_THRESHOLD, type SentPacket, SentPackets } from "./sent-packets.ts";
import type { AckStamp, PnRange } from "./wire/frames.ts";

const pkt = (pn: number, sentAt: number, over: Partial<SentPacket> = {}) =>
  sentPacket(pn, sentAt, { ackedRunLow: -1, ...over });

/** Sends PNs 0..n-1 at times 0, 10, 20, … (ms). */
function sendMany(n: number, bytes = 1000): { s: SentPackets; ps: SentPacket[] } {
  const s = new SentPackets();
  const ps: SentPacket[] = [];
  for (let pn = 0; pn < n; pn++) {
    const p = pkt(pn, pn * 10, { bytes });
    ps.push(p);
    s.onSent(p);
  }
  return { s, ps };
}

const pns = (ps: readonly SentPacket[]) => ps.map((p) => p.pn);

describe("acknowledgement", () => {
  test("ACK of a range marks its packets acked and reduces bytes in flight", () => {
    const { s, ps } = sendMany(10);
    expect(s.bytesInFlight).toBe(10_000);
    const r = s.onAck([{ low: 2, high: 5 }], 100);
    expect(pns(r.acked)).toEqual([2, 3, 4, 5]);
    expect(r.rttSample).toBe(100 - 50);
    expect(r.spurious).toEqual([]);
    expect(s.largestAcked).toBe(5);
    expect(s.bytesInFlight).toBe(6000);
    expect(ps.map((p) => p.state)).toEqual([
      ...Array(2).fill("sent"),
      ...Array(4).fill("acked"),
      ...Array(4).fill("sent"),
    ]);
    expect(s.delivered).toBe(4000);
    expect(s.deliveredTime).toBe(100);
  });

  test("ranges are applied newest first; repeated ranges ack nothing twice", () => {
    const { s } = sendMany(20);
    const first = s.onAck(
      [
        { low: 8, high: 9 },
        { low: 2, high: 4 },
      ],
      200,
    );
    expect(pns(first.acked)).toEqual([2, 3, 4, 8, 9]);
    const again = s.onAck(
      [
        { low: 12, high: 12 },
        { low: 8, high: 9 },
        { low: 0, high: 4 },
      ],
      210,
    );
    expect(pns(again.acked)).toEqual([0, 1, 12]);
    expect(again.rttSample).toBe(210 - 120);
    expect(s.bytesInFlight).toBe(20_000 - 8000);
    const dup = s.onAck([{ low: 0, high: 12 }], 220);
    expect(pns(dup.acked)).toEqual([5, 6, 7, 10, 11]);
    // 12 was acked before: the sample is 11's, the largest newly acked, and no ACK delay applies.
    expect(dup.rttSample).toBe(220 - 110);
    expect(dup.sampleIsLargest).toBe(false);
    expect(s.onAck([{ low: 0, high: 12 }], 230)).toEqual({ acked: [], spurious: [], sampleIsLargest: false });
  });

  test("the RTT sample is the largest newly acked packet's; the ACK delay applies when it is the frame's largest", () => {
    const { s } = sendMany(10);
    const first = s.onAck([{ low: 6, high: 6 }], 100);
    expect(first.rttSample).toBe(40);
    expect(first.sampleIsLargest).toBe(true);
    const r = s.onAck(
      [
        { low: 6, high: 6 },
        { low: 3, high: 3 },
      ],
      120,
    );
    expect(pns(r.acked)).toEqual([3]);
    // 3 filled a hole behind 6 (it was overtaken): its own round trip, no ACK delay.
    expect(r.rttSample).toBe(120 - 30);
    expect(r.sampleIsLargest).toBe(false);
    expect(s.largestAcked).toBe(6);
  });

  test("packets outside bytes in flight are acked without touching it", () => {
    const s = new SentPackets();
    s.onSent(pkt(0, 0, { inFlight: false, ackEliciting: false, bytes: 40 }));
    s.onSent(pkt(1, 1, { bytes: 1200 }));
    expect(s.bytesInFlight).toBe(1200);
    const r = s.onAck([{ low: 0, high: 1 }], 10);
    expect(pns(r.acked)).toEqual([0, 1]);
    expect(s.bytesInFlight).toBe(0);
    expect(s.delivered).toBe(1200);
  });

  test("delivery-rate state is stamped on each packet at send time", () => {
    const s = new SentPackets();
    const a = pkt(0, 5);
    s.onSent(a);
    expect(s.firstSentTime).toBe(5);
    s.onAck([{ low: 0, high: 0 }], 25);
    const b = pkt(1, 30);
    s.onSent(b);
    expect(b.deliveredAtSend).toBe(1000);
    expect(b.deliveredTimeAtSend).toBe(30); // in flight was empty: the clock restarts
    expect(b.firstSentTimeAtSend).toBe(30);
  });
});

describe("loss detection", () => {
  test("packet threshold: lost once 3 later packets are acknowledged", () => {
    const { s, ps } = sendMany(10);
    s.onAck([{ low: 3, high: 3 }], 40);
    const { lost, nextCheck } = s.detectLosses(40, 1000);
    expect(PACKET_THRESHOLD).toBe(3);
    expect(pns(lost)).toEqual([0]);
    expect(ps[0]?.state).toBe("lost");
    expect(ps[1]?.state).toBe("sent");
    // 1 and 2 wait for the time threshold: the earliest is due at 10 + 1000.
    expect(nextCheck).toBe(1010);
    expect(s.lostPackets).toBe(1);
    expect(s.lostBytes).toBe(1000);
    expect(s.bytesInFlight).toBe(10_000 - 1000 - 1000);
  });

  test("time threshold: lost once older than the loss delay; later packets are never declared lost", () => {
    const { s } = sendMany(10);
    s.onAck([{ low: 3, high: 3 }], 40);
    expect(pns(s.detectLosses(40, 1000).lost)).toEqual([0]);
    expect(pns(s.detectLosses(1009, 1000).lost)).toEqual([]);
    const at = s.detectLosses(1010, 1000);
    expect(pns(at.lost)).toEqual([1]);
    expect(at.nextCheck).toBe(1020);
    // 4..9 are above the largest acknowledged: never lost here, however old.
    const late = s.detectLosses(1_000_000, 1000);
    expect(pns(late.lost)).toEqual([2]);
    expect(late.nextCheck).toBe(Number.POSITIVE_INFINITY);
    expect(s.bytesInFlight).toBe(6000);
  });

  test("the timer it returns always finds something lost when it fires (fractional times)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 2, maxLength: 20 }),
        fc.double({ min: 1, max: 5000, noNaN: true }),
        (times, lossDelay) => {
          const s = new SentPackets();
          const sorted = [...times].sort((a, b) => a - b);
          sorted.forEach((t, pn) => void s.onSent(pkt(pn, t)));
          const last = sorted.length - 1;
          // Ack only the newest: the earlier ones wait for the time threshold (threshold raised out of reach).
          s.packetThreshold = 1000;
          const now = sorted[last] as number;
          s.onAck([{ low: last, high: last }], now);
          let { nextCheck } = s.detectLosses(now, lossDelay);
          let rounds = 0;
          while (Number.isFinite(nextCheck)) {
            const r = s.detectLosses(nextCheck, lossDelay);
            expect(r.lost.length).toBeGreaterThan(0);
            expect(r.nextCheck).toBeGreaterThan(nextCheck);
            nextCheck = r.nextCheck;
            expect(++rounds).toBeLessThanOrEqual(sorted.length);
          }
          expect(s.bytesInFlight).toBe(0);
        },
      ),
    );
  });

  test("ACK-only packets below the largest acknowledged are settled, not lost", () => {
    const s = new SentPackets();
    s.onSent(pkt(0, 0, { ackEliciting: false, inFlight: false, bytes: 30 }));
    s.onSent(pkt(1, 0));
    s.onSent(pkt(2, 0));
    s.onSent(pkt(3, 0));
    s.onSent(pkt(4, 0));
    s.onAck([{ low: 4, high: 4 }], 10);
    const { lost } = s.detectLosses(10, 1000);
    expect(pns(lost)).toEqual([1]);
    expect(s.lostPackets).toBe(1);
    expect(s.lostBytes).toBe(1000);
  });

  test("an ACK for a packet declared lost is spurious: from then on only time declares loss (RACK)", () => {
    const { s, ps } = sendMany(40);
    s.onAck([{ low: 3, high: 3 }], 40);
    expect(pns(s.detectLosses(40, 10_000).lost)).toEqual([0]);
    const late = s.onAck(
      [
        { low: 3, high: 4 },
        { low: 0, high: 0 },
      ],
      50,
    );
    expect(pns(late.acked)).toEqual([4]);
    expect(pns(late.spurious)).toEqual([0]);
    expect(s.spuriousLosses).toBe(1);
    expect(s.packetThreshold).toBe(Number.POSITIVE_INFINITY);
    expect(ps[0]?.state).toBe("acked");
    // The lost packet's bytes left flight when it was declared lost, not again now.
    expect(s.bytesInFlight).toBe(40_000 - 3000);
    // A gap of 35 packets is tolerated; only age declares loss now.
    s.onAck([{ low: 39, high: 39 }], 80);
    expect(pns(s.detectLosses(80, 10_000).lost)).toEqual([]);
    expect(pns(s.detectLosses(80, 70).lost)).toEqual([1]);
    expect(pns(s.onAck([{ low: 1, high: 1 }], 90).spurious)).toEqual([1]);
    s.declareLost(ps[2] as SentPacket);
    s.declareLost(ps[2] as SentPacket); // only the first call counts
    expect(s.lostPackets).toBe(3);
    expect(s.lostBytes).toBe(3000);
    expect(s.spuriousLosses).toBe(2);
  });

  test("declareLost, outstanding and hasAckEliciting", () => {
    const s = new SentPackets();
    const a = pkt(0, 0);
    const b = pkt(1, 0, { ackEliciting: false, inFlight: false });
    const c = pkt(2, 0);
    for (const p of [a, b, c]) s.onSent(p);
    expect(pns([...s.outstanding()])).toEqual([0, 2]);
    s.declareLost(a);
    expect(a.state).toBe("lost");
    expect(s.bytesInFlight).toBe(1000);
    s.declareLost(a);
    expect(s.lostPackets).toBe(1);
    expect(s.hasAckEliciting).toBe(true);
    s.onAck([{ low: 2, high: 2 }], 5);
    expect(s.hasAckEliciting).toBe(false);
    expect(s.bytesInFlight).toBe(0);
  });

  // Finding: RFC 9000 §13.1 makes acknowledging a never-sent packet a protocol violation. onAck
  // trusts the frame: largestAcked jumps to the unsent PN, so every later packet is declared lost by
  // the packet threshold the moment it is checked. (Only the peer itself is harmed.)
  test("an ACK naming packets never sent does not move largestAcked beyond the last PN sent", () => {
    const { s } = sendMany(5);
    s.onAck([{ low: 4, high: 1000 }], 50);
    expect(s.largestAcked).toBe(4);
  });
});

describe("long runs", () => {
  test("cumulative ACKs over many thousand packets ack each packet once, across the internal trim", () => {
    const s = new SentPackets();
    let acked = 0;
    for (let batch = 0; batch < 120; batch++) {
      for (let i = 0; i < 100; i++) s.onSent(pkt(batch * 100 + i, batch));
      // Real ACKs repeat old ranges: acknowledge everything so far with a hole at PN 50 kept open.
      const r = s.onAck(
        [
          { low: 51, high: batch * 100 + 99 },
          { low: 0, high: 49 },
        ],
        batch + 1,
      );
      acked += r.acked.length;
      expect(r.acked.length).toBe(batch === 0 ? 99 : 100);
      expect(r.rttSample).toBe(1);
    }
    expect(acked).toBe(11_999);
    expect(s.bytesInFlight).toBe(1000);
    // PN 50 is far behind the largest acknowledged: lost at once.
    expect(pns(s.detectLosses(200, 10_000).lost)).toEqual([50]);
    expect(s.bytesInFlight).toBe(0);
    for (let pn = 12_000; pn < 12_010; pn++) s.onSent(pkt(pn, 300));
    s.onAck([{ low: 12_005, high: 12_005 }], 310);
    expect(pns(s.detectLosses(310, 10_000).lost)).toEqual([12_000, 12_001, 12_002]);
    expect(s.bytesInFlight).toBe(6000);
  });

  test("a late ACK reveals a spurious loss while the lost packet is remembered, not after", () => {
    const recent = sendMany(600);
    recent.s.onAck([{ low: 3, high: 599 }], 7000);
    expect(pns(recent.s.detectLosses(7000, 10_000).lost)).toEqual([0, 1, 2]);
    expect(pns(recent.s.onAck([{ low: 0, high: 0 }], 7010).spurious)).toEqual([0]);

    // More than 1024 newer packets, but within two loss delays: still remembered.
    const many = sendMany(3000);
    many.s.onAck([{ low: 3, high: 2999 }], 40_000);
    expect(pns(many.s.detectLosses(40_000, 100_000).lost)).toEqual([0, 1, 2]);
    expect(pns(many.s.onAck([{ low: 0, high: 0 }], 40_010).spurious)).toEqual([0]);

    const old = sendMany(3000);
    old.s.onAck([{ low: 3, high: 2999 }], 40_000);
    expect(pns(old.s.detectLosses(40_000, 10_000).lost)).toEqual([0, 1, 2]);
    // More than 1024 packets newer than them are settled and two loss delays passed: forgotten.
    const late = old.s.onAck([{ low: 0, high: 2 }], 40_010);
    expect(late).toEqual({ acked: [], spurious: [], sampleIsLargest: false });
    expect(old.s.packetThreshold).toBe(PACKET_THRESHOLD);
  });
});

describe("model check", () => {
  type Op =
    | { kind: "send"; n: number; ackEliciting: boolean }
    | { kind: "ack"; picks: number[] }
    | { kind: "loss"; dt: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant("send" as const), n: fc.integer({ min: 1, max: 8 }), ackEliciting: fc.boolean() }),
    fc.record({ kind: fc.constant("ack" as const), picks: fc.array(fc.nat(), { minLength: 1, maxLength: 12 }) }),
    fc.record({ kind: fc.constant("loss" as const), dt: fc.nat({ max: 300 }) }),
  );

  /** Turns a set of PNs into descending, disjoint, non-adjacent ranges. */
  function toRanges(set: number[]): PnRange[] {
    const sorted = [...new Set(set)].sort((a, b) => b - a);
    const out: PnRange[] = [];
    for (const pn of sorted) {
      const last = out[out.length - 1];
      if (last && last.low === pn + 1) last.low = pn;
      else out.push({ low: pn, high: pn });
    }
    return out;
  }

  test("random sends, ACKs and loss checks agree with a per-packet model", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const s = new SentPackets();
        const model: { p: SentPacket; state: "sent" | "acked" | "lost" }[] = [];
        let now = 0;
        let largest = -1;
        let threshold = PACKET_THRESHOLD;
        const lossDelay = 100;
        for (const o of ops) {
          now += 10;
          if (o.kind === "send") {
            for (let i = 0; i < o.n; i++) {
              const p = pkt(model.length, now, { ackEliciting: o.ackEliciting, inFlight: o.ackEliciting });
              model.push({ p, state: "sent" });
              s.onSent(p);
            }
          } else if (o.kind === "ack") {
            if (model.length === 0) continue;
            const ranges = toRanges(o.picks.map((x) => x % model.length));
            const r = s.onAck(ranges, now);
            const expectAcked: number[] = [];
            let spurious = 0;
            for (const range of ranges)
              for (let pn = range.low; pn <= range.high; pn++) {
                const m = model[pn] as (typeof model)[number];
                if (m.state === "sent") expectAcked.push(pn);
                if (m.state === "lost") spurious++;
                m.state = "acked";
              }
            expect(pns(r.acked)).toEqual(expectAcked.sort((a, b) => a - b));
            expect(r.spurious.length).toBe(spurious);
            const top = (ranges[0] as PnRange).high;
            if (expectAcked.length || spurious) {
              const newest = expectAcked.length ? Math.max(...expectAcked) : undefined;
              expect(r.rttSample).toBe(
                newest === undefined ? undefined : now - (model[newest] as (typeof model)[number]).p.sentAt,
              );
              expect(r.sampleIsLargest).toBe(newest === top);
              largest = Math.max(largest, top);
            }
            if (spurious) threshold = Number.POSITIVE_INFINITY;
          } else {
            now += o.dt;
            const { lost, nextCheck } = s.detectLosses(now, lossDelay);
            const expectLost: number[] = [];
            let expectNext = Number.POSITIVE_INFINITY;
            for (let pn = 0; pn <= largest; pn++) {
              const m = model[pn] as (typeof model)[number];
              if (m.state !== "sent") continue;
              if (!m.p.ackEliciting) m.state = "acked";
              else if (largest - pn >= threshold || m.p.sentAt + lossDelay <= now) {
                m.state = "lost";
                expectLost.push(pn);
              } else expectNext = Math.min(expectNext, m.p.sentAt + lossDelay);
            }
            expect(pns(lost)).toEqual(expectLost);
            expect(nextCheck).toBe(expectNext);
          }
          expect(s.largestAcked).toBe(largest);
          expect(s.packetThreshold).toBe(threshold);
          const inFlight = model.filter((m) => m.state === "sent" && m.p.inFlight).length * 1000;
          expect(s.bytesInFlight).toBe(inFlight);
          expect(pns([...s.outstanding()])).toEqual(
            model.filter((m) => m.state === "sent" && m.p.ackEliciting).map((m) => m.p.pn),
          );
        }
      }),
    );
  });
});

describe("min RTT from the peer's clock (leg-delays.ts)", () => {
  /** Packets sent 1 ms apart over 40 ms out and 10 ms back, each acknowledged on arrival; the peer's clock runs 5 s ahead. */
  function path(n: number, early: (pn: number) => boolean = () => false) {
    const s = new SentPackets();
    const acks: { pn: number; at: number; stamp: AckStamp }[] = [];
    for (let pn = 0; pn < n; pn++) {
      s.onSent(pkt(pn, pn));
      const received = pn + (early(pn) ? 5 : 40);
      acks.push({ pn, at: received + 10, stamp: { timeUs: (received + 5000) * 1000, latestPn: pn, latestAgeUs: 0 } });
    }
    acks.sort((a, b) => a.at - b.at);
    const samples: number[] = [];
    for (const a of acks) {
      s.onAck([{ low: a.pn, high: a.pn }], a.at, a.stamp);
      s.detectLosses(a.at, 60);
      const m = s.takeMinRttSample();
      if (m !== undefined) samples.push(m);
    }
    return { s, samples };
  }

  test("the two legs add up to the round trip, whatever the clocks' offset", () => {
    const { samples } = path(20 * SLOT_SAMPLES);
    expect(samples.length).toBeGreaterThan(5);
    for (const m of samples) expect(m).toBeCloseTo(50, 6);
  });

  test("packets that skipped 35 ms on the way out (every 20th) never lower it", () => {
    const { samples } = path(20 * SLOT_SAMPLES, (pn) => pn % 20 === 7);
    expect(samples.length).toBeGreaterThan(5);
    for (const m of samples) expect(m).toBeCloseTo(50, 6);
  });

  test("without the peer's clock no sample is confirmed, and deliveries are timed by arrival", () => {
    const { s } = sendMany(2 * SLOT_SAMPLES);
    for (let pn = 0; pn < 2 * SLOT_SAMPLES; pn++) s.onAck([{ low: 0, high: pn }], pn * 10 + 50);
    expect(s.takeMinRttSample()).toBeUndefined();
    expect(s.deliveredTime).toBe((2 * SLOT_SAMPLES - 1) * 10 + 50);
  });

  test("the delivery clock does not run ahead for an ACK that came early on its way back", () => {
    const { s } = path(4 * SLOT_SAMPLES);
    const last = s.deliveredTime;
    s.onSent(pkt(4 * SLOT_SAMPLES, last));
    // Written when that packet arrived (40 ms out), but here after 1 ms, not 10: timed as at 10.
    const writtenAt = last + 40;
    s.onAck([{ low: 0, high: 4 * SLOT_SAMPLES }], writtenAt + 1, {
      timeUs: (writtenAt + 5000) * 1000,
      latestPn: 4 * SLOT_SAMPLES,
      latestAgeUs: 0,
    });
    expect(s.deliveredTime).toBeCloseTo(writtenAt + 10, 6);
  });
});
