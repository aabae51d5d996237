/**
 * A controller must always be able to win its rate back. Closed loop over the real loss recovery,
 * pacer and BBR: a host starved of CPU (20 transfers on 2 vCPUs: the event loop gets a turn every
 * few hundred ms, ACKs come in bunches, the handshake's round trip is inflated) that then runs
 * freely, and the state the 'many at once' drill's frozen udp-reliable flows were left in
 * (300–3800 B/s for good): each of bbr.ts's two rules against it has a case here that fails
 * without it.
 */

import { describe, expect, test } from "bun:test";
import { seededRandom } from "../../sim/rng.ts";
import { Pacer } from "../../src/plugin/udp/pacer.ts";
import { BbrController } from "./congestion/bbr.ts";
import { LossRecovery } from "./loss-recovery.ts";
import { sentPacket } from "./sent-packet.fixture.ts";

const QUEUE_BYTES = 1 << 20;

/** As the connection makes it: 1200-byte windows until the MTU prober confirms larger datagrams. */
function newBbr(datagram: number): BbrController {
  const bbr = new BbrController({
    mss: 1200,
    maxRate: Number.POSITIVE_INFINITY,
    initialWindowPackets: 32,
    random: () => 0.5,
  });
  bbr.onDatagramSize(datagram);
  return bbr;
}

interface LoopSpec {
  /** Datagram size once the MTU prober has grown it (the controller starts at 1200). */
  datagram: number;
  /** Bottleneck rate (bytes/s) and round trip without queue (ms). */
  capacity: number;
  rttMs: number;
  /** The handshake's round trip as the starved host timed it (ms). */
  handshakeRttMs: number;
  /** Until then the host runs only every `turnMs`. */
  starvedUntilMs: number;
  turnMs: number;
  seconds: number;
  seed: number;
  /** After the starved start, the receiver still gets a turn only about this often. */
  loadedTurnMs: number;
  spentPacer?: boolean;
}

/** Returns the delivery rate over the last second, as a share of capacity, and the controller. */
function closedLoop(spec: LoopSpec, bbr = newBbr(spec.datagram)): { share: number; bbr: BbrController } {
  const recovery = new LossRecovery(bbr, { onPacketAcked() {}, onPacketLost() {} }, 0);
  recovery.onHandshakeRtt(spec.handshakeRttMs);
  const pacer = new Pacer(spec.datagram, 0);
  // A connection already paced this slowly has no burst saved up.
  if (spec.spentPacer) pacer.onSent(pacer.budget(0, 0));
  // Each ACK carries the receiver's clock (the same clock here): when it was written, the packet.
  const acks: { pn: number; at: number; written: number; arrival: number }[] = [];
  const random = seededRandom(spec.seed);
  // The receiver is starved too: it acknowledges what arrived only when it gets a turn.
  let receiverTurn = 0;
  const ackTime = (arrival: number): number => {
    const turn = arrival >= spec.starvedUntilMs ? spec.loadedTurnMs : spec.turnMs;
    while (receiverTurn < arrival) receiverTurn += random() * 2 * turn;
    return receiverTurn;
  };
  let linkFree = 0;
  let pn = 0;
  let deliveredLastSecond = 0;
  const end = spec.seconds * 1000;
  for (let now = 0; now < end; now += now < spec.starvedUntilMs ? spec.turnMs : 1) {
    while (acks.length && (acks[0] as { at: number }).at <= now) {
      const a = acks.shift() as (typeof acks)[number];
      const stamp = { timeUs: a.written * 1000, latestPn: a.pn, latestAgeUs: (a.written - a.arrival) * 1000 };
      recovery.onAck([{ low: a.pn, high: a.pn }], 0, now, stamp);
      if (a.at >= end - 1000) deliveredLastSecond += spec.datagram;
    }
    recovery.onTimer(now, true);
    let budget = pacer.budget(now, bbr.pacingRate());
    while (
      recovery.probesDue > 0 ||
      (recovery.sent.bytesInFlight < bbr.congestionWindow() && budget >= spec.datagram)
    ) {
      if (recovery.probesDue > 0) recovery.probesDue--;
      const p = sentPacket(pn++, now, { bytes: spec.datagram });
      recovery.onPacketSent(p, now);
      pacer.onSent(spec.datagram);
      budget -= spec.datagram;
      // FIFO bottleneck: queued behind what is already on it, then the rest of the round trip.
      // A socket buffer's worth of queue, then drop-tail.
      if (((linkFree - now) * spec.capacity) / 1000 > QUEUE_BYTES) continue;
      linkFree = Math.max(linkFree, now) + (spec.datagram * 1000) / spec.capacity;
      const arrival = linkFree + spec.rttMs / 2;
      const written = ackTime(arrival);
      acks.push({ pn: p.pn, at: Math.max(written + spec.rttMs / 2, acks.at(-1)?.at ?? 0), written, arrival });
    }
  }
  return { share: deliveredLastSecond / spec.capacity, bbr };
}

describe("the rate always recovers", () => {
  const starved = {
    datagram: 16384,
    capacity: 10e6,
    rttMs: 0.5,
    handshakeRttMs: 80,
    seconds: 40,
    seed: 1,
    loadedTurnMs: 20,
  };

  test.each([
    { starvedUntilMs: 3000, turnMs: 300 },
    { starvedUntilMs: 5000, turnMs: 700 },
    { starvedUntilMs: 10_000, turnMs: 1500 },
    { starvedUntilMs: 20_000, turnMs: 2500, seed: 8, loadedTurnMs: 1 },
  ])("a host starved for $starvedUntilMs ms (a turn every $turnMs ms) reaches the path's rate once it runs", (s) => {
    const { share, bbr } = closedLoop({ ...starved, ...s });
    expect(share).toBeGreaterThan(0.8);
    expect(bbr.stats().ccMode).toBe("probe-bw");
  });

  // The state the drill's frozen flows reported: out of STARTUP at about 3 KB/s (rate samples taken
  // across turns seconds apart), a min RTT confirmed while starved, on a path whose round trip is
  // now 0.5 ms. One datagram took 5 s to pace while a probing phase lasted 2 min RTTs, and every
  // lone datagram's sample (16 KB in about 2 ms) was under half the min RTT, so rejected. At 8 ms
  // the pacing floor alone gets it out; at 2 s (floor 33 KB/s) it takes judging samples against
  // the fastest round trip seen.
  test.each([8, 2000])(
    "bandwidth left at 3 KB/s by a starved start, min RTT %p ms: the path's rate within 3 s",
    (minRtt) => {
      const bbr = newBbr(16384);
      let delivered = 0;
      for (let t = 0; t < 30_000; t += 5000) {
        const p = {
          bytes: 16384,
          sentAt: t - minRtt,
          deliveredAtSend: delivered,
          deliveredTimeAtSend: t - 5000,
          firstSentTimeAtSend: t - 5000,
          appLimitedAtSend: false,
        };
        delivered += 16384;
        bbr.onAck({ now: t, acked: [p], rttSample: minRtt, minRttSample: minRtt, minRtt, delivered, bytesInFlight: 0 });
      }
      expect(bbr.stats()).toMatchObject({ ccMode: "probe-bw", minRttMs: minRtt });
      expect(Number(bbr.stats().bwBytesPerSec)).toBeLessThan(4000);
      const { share } = closedLoop({ ...starved, starvedUntilMs: 0, turnMs: 1, seconds: 3, spentPacer: true }, bbr);
      expect(share).toBeGreaterThan(0.8);
    },
  );
});
