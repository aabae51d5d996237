import { describe, expect, test } from "bun:test";
import type { AckEvent, CongestionController, LossEvent } from "./congestion/controller.ts";
import { SLOT_SAMPLES } from "./leg-delays.ts";
import { LossRecovery, MAX_PTO_MS, MAX_REORDER_EIGHTHS, PERSISTENT_PTOS } from "./loss-recovery.ts";
import { sentPacket } from "./sent-packet.fixture.ts";
import type { SentPacket } from "./sent-packets.ts";

/** Records what the controller is told. */
class Recorder implements CongestionController {
  readonly name = "recorder";
  acks: AckEvent[] = [];
  losses: LossEvent[] = [];
  spurious: number[] = [];
  timeouts = 0;
  congestionWindow(): number {
    return 1e9;
  }
  pacingRate(): number {
    return 1e9;
  }
  onPacketSent(): void {}
  onAck(ev: AckEvent): void {
    this.acks.push(ev);
  }
  onLoss(ev: LossEvent): void {
    this.losses.push(ev);
  }
  onSpuriousLoss(ev: { bytes: number }): void {
    this.spurious.push(ev.bytes);
  }
  onRetransmissionTimeout(): void {
    this.timeouts++;
  }
  onAppLimited(): void {}
  onDatagramSize(): void {}
  stats(): Record<string, number | string> {
    return {};
  }
}

function setup() {
  const cc = new Recorder();
  const acked: number[] = [];
  const lost: { pn: number; declared: boolean }[] = [];
  const r = new LossRecovery(
    cc,
    {
      onPacketAcked: (p) => acked.push(p.pn),
      onPacketLost: (p, declared) => lost.push({ pn: p.pn, declared }),
    },
    0,
  );
  let pn = 0;
  const send = (now: number, over: Partial<SentPacket> = {}): SentPacket => {
    const p = sentPacket(pn++, now, over);
    r.onPacketSent(p, now);
    return p;
  };
  return { cc, r, acked, lost, send };
}

describe("LossRecovery", () => {
  test("an ACK takes an RTT sample, reports acked packets, then tells the controller", () => {
    const { cc, r, acked, send } = setup();
    for (let i = 0; i < 4; i++) send(i);
    r.onAck([{ low: 0, high: 3 }], 0, 103);
    expect(acked).toEqual([0, 1, 2, 3]);
    expect(r.rtt.latest).toBe(100);
    expect(cc.acks.length).toBe(1);
    expect(cc.acks[0]?.acked.length).toBe(4);
    expect(cc.acks[0]?.bytesInFlight).toBe(0);
  });

  test("packets far enough behind the largest acknowledged one are declared lost, once", () => {
    const { cc, r, lost, send } = setup();
    for (let i = 0; i < 10; i++) send(i);
    r.onAck([{ low: 5, high: 9 }], 0, 60);
    expect(lost).toEqual([0, 1, 2, 3, 4].map((pn) => ({ pn, declared: true })));
    expect(cc.losses.length).toBe(1);
    expect(cc.losses[0]?.lostBytes).toBe(5000);
    r.onAck([{ low: 5, high: 9 }], 0, 70);
    expect(lost.length).toBe(5);
  });

  test("a packet short of the reordering threshold is lost by time, when the loss timer fires", () => {
    const { r, lost, send } = setup();
    send(0);
    send(1);
    r.onAck([{ low: 1, high: 1 }], 0, 50);
    expect(lost).toEqual([]);
    expect(Number.isFinite(r.lossTime)).toBe(true);
    r.onTimer(r.lossTime, true);
    expect(lost).toEqual([{ pn: 0, declared: true }]);
  });

  test("PTO: the oldest data is re-queued (not declared lost) and two probes are owed; persistent silence declares all lost", () => {
    const { cc, r, lost, send } = setup();
    send(0);
    send(0);
    expect(r.ptoDeadline(false)).toBe(Number.POSITIVE_INFINITY);
    let due = r.ptoDeadline(true);
    expect(due).toBeLessThanOrEqual(MAX_PTO_MS);
    r.onTimer(due, true);
    expect(lost).toEqual([{ pn: 0, declared: false }]);
    expect(r.probesDue).toBe(2);
    for (let i = 1; i < PERSISTENT_PTOS; i++) {
      due = r.ptoDeadline(true);
      r.onTimer(due, true);
    }
    expect(cc.timeouts).toBe(1);
    expect(lost.filter((l) => l.declared).map((l) => l.pn)).toEqual([0, 1]);
    expect(r.sent.bytesInFlight).toBe(0);
  });
});

describe("reordering", () => {
  test("a spurious loss hands the packet back as delivered, undoes the controller's loss and widens the window", () => {
    const { cc, r, acked, lost, send } = setup();
    for (let i = 0; i < 10; i++) send(i);
    r.onAck([{ low: 0, high: 0 }], 0, 50);
    r.onAck([{ low: 5, high: 9 }], 0, 60); // 1..4 declared lost by the packet threshold
    expect(lost.map((l) => l.pn)).toEqual([1, 2, 3, 4]);
    expect(r.reorderEighths).toBe(1);
    r.onAck([{ low: 0, high: 9 }], 0, 61); // ... and they were only late
    expect(acked.slice(-4).sort()).toEqual([1, 2, 3, 4]);
    expect(cc.spurious).toEqual([4000]);
    expect(r.reorderEighths).toBe(2);
    expect(r.sent.packetThreshold).toBe(Number.POSITIVE_INFINITY);
  });

  test("the window grows at most once a round trip, and stops at a whole RTT", () => {
    const { r, send } = setup();
    let now = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 3; i++) send(now);
      const top = r.sent.largestSent;
      r.onAck([{ low: top, high: top }], 0, now + 50);
      r.onTimer(now + 1000, false); // declares top-2 and top-1 lost by time
      r.onAck([{ low: top - 2, high: top - 1 }], 0, now + 1001);
      now += 1001;
    }
    expect(r.reorderEighths).toBe(MAX_REORDER_EIGHTHS);
  });

  test("samples from both legs reach the controller as minRttSample and set min RTT; reordered ones do not", () => {
    const { cc, r, send } = setup();
    const n = 12 * SLOT_SAMPLES;
    // 1 ms apart, 30 ms out and 20 ms back; every 10th skips 25 ms on the way out, and its round
    // trip (25 ms) goes to srtt's filter, never to the minimum.
    const acks = Array.from({ length: n }, (_, pn) => {
      send(pn);
      const received = pn + (pn % 10 === 3 ? 5 : 30);
      return { pn, at: received + 20, stamp: { timeUs: received * 1000, latestPn: pn, latestAgeUs: 0 } };
    }).sort((a, b) => a.at - b.at);
    for (const a of acks) r.onAck([{ low: a.pn, high: a.pn }], 0, a.at, a.stamp);
    const confirmed = cc.acks.flatMap((a) => (a.minRttSample === undefined ? [] : [a.minRttSample]));
    expect(confirmed.length).toBeGreaterThan(3);
    for (const m of confirmed) expect(m).toBeCloseTo(50, 6);
    expect(r.rtt.min).toBeCloseTo(50, 6);
    expect(r.rtt.smoothed).toBeCloseTo(50, 6);
  });
});
