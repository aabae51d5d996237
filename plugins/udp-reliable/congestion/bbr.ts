/**
 * A BBR-style controller (BBRv1's model and gains) whose response to loss is gated on delay: random
 * loss on a long path is not congestion, so it is answered by retransmission alone; loss together
 * with a standing queue is, and cuts the rate. A delay guard keeps the queue we cause bounded so
 * loss-based TCP flows sharing a bottleneck keep their share. The design, its rules and figures are
 * in docs/PROTOCOL.md §2.7. Nothing here is tuned to one link: windows follow bw × min RTT.
 */
import type { AckEvent, CongestionController, ControllerConfig, LossEvent } from "./controller.ts";
import { HEAVY_LOSS, lossIsCongestive } from "./loss-gate.ts";
import { LowQuantile } from "./low-quantile.ts";
import { RateBound } from "./rate-bound.ts";
import { WindowedMax } from "./windowed-max.ts";

const HIGH_GAIN = 2.885;
const DRAIN_GAIN = 1 / HIGH_GAIN;
const CWND_GAIN = 2;
const PROBE_GAINS = [1.25, 0.75, 1, 1, 1, 1, 1, 1];
const BW_WINDOW_ROUNDS = 10;
const MIN_RTT_WINDOW_MS = 10_000;
/** The queue's reference (base RTT) is re-taken when no confirmed sample came near it this long. */
const BASE_RTT_WINDOW_MS = 2 * MIN_RTT_WINDOW_MS;
const PROBE_RTT_MS = 200;
const MIN_WINDOW_PACKETS = 4;
/** A cut multiplies the rate bound by this (BBRv2's beta 0.3). */
const LOSS_CUT = 0.7;
/** A standing queue cuts the rate bound by this, at most once every DELAY_CUT_ROUNDS rounds. */
const DELAY_CUT = 0.85;
const DELAY_CUT_ROUNDS = 3;
/**
 * A queue shorter than this may be the hosts' own timing, not a buffer: an ACK held up to 5 ms
 * (MAX_ACK_DELAY_MS), 2 ms pacer bursts, a receiver process scheduled late. Alone it cuts nothing.
 */
const HOST_DELAY_MS = 10;
/** The round's queue is read at this quantile of its RTT samples, not their minimum (low-quantile.ts). */
const ROUND_RTT_QUANTILE = 0.1;

type Mode = "startup" | "drain" | "probe-bw" | "probe-rtt";

export class BbrController implements CongestionController {
  readonly name = "bbr";
  private mode: Mode = "startup";
  private readonly bwFilter = new WindowedMax(BW_WINDOW_ROUNDS);
  /** Upper bound on bw after congestion. */
  private readonly bound = new RateBound();
  private minRtt = Number.POSITIVE_INFINITY;
  private minRttStamp = 0;
  /** minRtt is the estimator's stand-in, not a confirmed sample (see onAck). */
  private minRttStandIn = false;
  /** Lowest confirmed RTT, re-taken if unseen for BASE_RTT_WINDOW_MS: the reference for queueing delay. */
  private baseRtt = Number.POSITIVE_INFINITY;
  private baseRttStamp = 0;
  private round = 0;
  private roundStartTime = Number.NEGATIVE_INFINITY;
  private nextRoundDelivered = 0;
  private roundStart = false;
  private fullBw = 0;
  private fullBwRounds = 0;
  /** Consecutive STARTUP rounds with a standing queue. */
  private startupQueueRounds = 0;
  private cycleIndex = 0;
  private cycleStamp = 0;
  private probeRttDoneAt = 0;
  private pacingGain = HIGH_GAIN;
  private cwndGain = HIGH_GAIN;
  private cwnd: number;
  /** Bytes per second (see updatePacing). */
  private pacing: number;
  private priorCwnd = 0;
  private appLimitedUntil = 0;
  // Per-round loss and delay accounting for the loss gate and the delay guard.
  private roundLost = 0;
  private roundDelivered = 0;
  /** The round's low RTT quantile: its queue, robust to reordered samples (low-quantile.ts). */
  private readonly roundRtt = new LowQuantile(ROUND_RTT_QUANTILE);
  private lastRoundQueue = 0;
  private queueHighRounds = 0;
  private guarded = false;
  private lastCutAt = Number.NEGATIVE_INFINITY;
  private lastCutRound = Number.NEGATIVE_INFINITY;
  /** This round's loss of packets sent after the last cut. */
  private roundLostSinceCut = 0;
  /** Loss rate per round on this path without a queue (EWMA): random loss, not congestion. */
  private randomLoss = 0;
  private delivered = 0;
  // ACK aggregation (BBR's extra_acked): ACKs arrive in batches (delayed ACKs, event-loop turns), so
  // a window of exactly gain × BDP would idle between batches. Measured, not assumed.
  private readonly extraAcked = new WindowedMax(BW_WINDOW_ROUNDS);
  private ackEpochStart = 0;
  private ackEpochBytes = 0;

  /** The datagram size in use: floors are whole datagrams, or a 16 KB one on loopback never fits. */
  private mss: number;
  /** Lowest raw RTT sample (ms), reordered or not: only to tell a rate sample too short to trust. */
  private rawMinRtt = Number.POSITIVE_INFINITY;

  constructor(private readonly config: ControllerConfig) {
    this.mss = config.mss;
    this.cwnd = config.initialWindowPackets * config.mss;
    this.pacing = (HIGH_GAIN * this.cwnd) / 0.1;
  }

  congestionWindow(): number {
    if (this.mode === "probe-rtt") return MIN_WINDOW_PACKETS * this.mss;
    return this.cwnd;
  }

  pacingRate(): number {
    return Math.min(Math.max(this.pacing, this.floorRate()), this.config.maxRate);
  }

  /**
   * Never slower than the window floor a round trip. Delivery-rate samples measure the rate we
   * send at, so a flow paced so slowly that one datagram takes longer than a whole 1.25 probing
   * phase never sends faster, never measures more, and stays there (seen: 20 transfers on a
   * starved 2-vCPU host, 16 KB datagrams paced at 3 KB/s). The window still bounds what is in
   * flight, so on a path slower than this the floor sends no more than TCP's minimum window would.
   */
  private floorRate(): number {
    const rtt = Number.isFinite(this.minRtt) ? Math.max(this.minRtt, 1) : 100;
    return (MIN_WINDOW_PACKETS * this.mss * 1000) / rtt;
  }

  /**
   * Like Linux BBR: until STARTUP has found the pipe full, the rate only ever goes up. The first
   * samples (handshake, a half-empty first flight) understate the path and must not hold it down.
   */
  private updatePacing(): void {
    const bw = this.bandwidth();
    const rtt = Number.isFinite(this.minRtt) ? this.minRtt : 100;
    const candidate = bw > 0 ? this.pacingGain * bw : (HIGH_GAIN * this.cwnd) / (rtt / 1000);
    if (this.mode !== "startup" || candidate > this.pacing) this.pacing = candidate;
  }

  onPacketSent(): void {}

  onDatagramSize(bytes: number): void {
    this.mss = Math.max(this.mss, bytes);
  }

  onAppLimited(): void {
    this.appLimitedUntil = this.delivered + 1;
  }

  onAck(ev: AckEvent): void {
    this.delivered = ev.delivered;
    if (ev.rttSample !== undefined) this.rawMinRtt = Math.min(this.rawMinRtt, ev.rttSample);
    // Only samples that did not overtake older packets: a reordered packet's fast round trip is
    // not the path's, and as min RTT it would make every other sample look like a standing queue.
    if (ev.minRttSample !== undefined) this.onRtt(ev.minRttSample, ev.now);
    // Any other sample may refresh the minimum and time the round's queue, but never lower them.
    if (ev.rttSample !== undefined && ev.rttSample >= this.minRtt) {
      this.roundRtt.add(ev.rttSample, ev.acked.length);
      if (ev.rttSample <= this.minRtt + 1) this.minRttStamp = ev.now;
    } else if (!Number.isFinite(this.minRtt) && Number.isFinite(ev.minRtt)) {
      // Until a sample is confirmed (jitter can keep them rare) the estimator's minimum (perhaps
      // the handshake's) stands in; it is not the queue's reference, and the first confirmed
      // sample replaces it.
      this.minRtt = ev.minRtt;
      this.minRttStamp = ev.now;
      this.minRttStandIn = true;
    }
    this.updateRound(ev);
    this.updateBandwidth(ev);
    this.updateAckAggregation(ev);
    if (this.roundStart) this.endRound(ev.now);
    this.updateMode(ev);
    this.updateCwnd(ev);
    this.updatePacing();
  }

  onLoss(ev: LossEvent): void {
    this.roundLost += ev.lostBytes;
    if (ev.largestLostSentAt > this.lastCutAt) this.roundLostSinceCut += ev.lostBytes;
  }

  onSpuriousLoss(ev: { now: number; bytes: number }): void {
    // Lost this round and delivered after all: not loss. The round may have ended already; then
    // the cut it caused, if any, may be undone.
    this.roundLost = Math.max(0, this.roundLost - ev.bytes);
    this.bound.onSpurious(ev.bytes);
  }

  onRetransmissionTimeout(now: number): void {
    // Everything in flight is presumed gone: restart from a small window but keep what we learnt of
    // the path, so a short blackout does not cost a whole slow start (docs/ARQ.md §2, item 5).
    this.priorCwnd = Math.max(this.priorCwnd, this.cwnd);
    this.cwnd = MIN_WINDOW_PACKETS * this.mss;
    this.mode = "startup";
    this.pacingGain = HIGH_GAIN;
    this.cwndGain = HIGH_GAIN;
    this.fullBw = 0;
    this.fullBwRounds = 0;
    this.minRttStamp = now;
    // Restart gently, at no more than the rate the path carried before the silence.
    this.pacing = Math.min(this.pacing, Math.max(this.bandwidth(), (MIN_WINDOW_PACKETS * this.mss * 1000) / 100));
  }

  stats(): Record<string, number | string> {
    return {
      cc: this.name,
      ccMode: this.mode,
      bwBytesPerSec: Math.round(this.bandwidth()),
      minRttMs: Number.isFinite(this.minRtt) ? Math.round(this.minRtt * 10) / 10 : 0,
      cwndBytes: Math.round(this.congestionWindow()),
      pacingBytesPerSec: Math.round(this.pacingRate()),
      baseRttMs: Number.isFinite(this.baseRtt) ? Math.round(this.baseRtt * 10) / 10 : 0,
      queueDelayMs: Math.round(this.lastRoundQueue * 10) / 10,
      extraAckedBytes: Math.round(this.extraAcked.value),
      congestiveCuts: this.bound.cuts,
      undoneCuts: this.bound.undone,
    };
  }

  private bandwidth(): number {
    return Math.min(this.bwFilter.value, this.bound.value);
  }

  private bdp(): number {
    const bw = this.bandwidth();
    if (bw === 0 || !Number.isFinite(this.minRtt)) return this.config.initialWindowPackets * this.config.mss;
    return (bw * this.minRtt) / 1000;
  }

  private onRtt(rtt: number, now: number): void {
    if (this.minRttStandIn) {
      this.minRttStandIn = false;
      this.minRtt = Number.POSITIVE_INFINITY;
    }
    this.roundRtt.add(rtt);
    // The base expires too, if no confirmed sample came near it for BASE_RTT_WINDOW_MS (a PROBE_RTT
    // drains our own queue in that time): one reordered sample the filter let through (33 ms on a
    // 50 ms netlab path) otherwise stood as the base for good, every round showed a 17 ms "queue",
    // the path's 1 % random loss read as congestion in each, and the flow sat at its floor rate.
    if (rtt <= this.baseRtt + Math.max(1, this.baseRtt / 8)) this.baseRttStamp = now;
    if (rtt < this.baseRtt || now - this.baseRttStamp > BASE_RTT_WINDOW_MS) {
      this.baseRtt = rtt;
      this.baseRttStamp = now;
    }
    // Samples within 1 ms of the minimum refresh it, so a single flow rarely needs PROBE_RTT.
    if (rtt <= this.minRtt + 1 || now - this.minRttStamp > MIN_RTT_WINDOW_MS) {
      this.minRtt = Math.min(rtt, now - this.minRttStamp > MIN_RTT_WINDOW_MS ? rtt : this.minRtt);
      this.minRttStamp = now;
    }
  }

  private updateRound(ev: AckEvent): void {
    this.roundStart = false;
    const newest = ev.acked[ev.acked.length - 1];
    // A round trip lasts at least the min RTT, except when a reordered packet (one that skipped a
    // delay) is acknowledged early: counted, it cut STARTUP's rounds in half, and three of them
    // without 25 % growth ended STARTUP at a tenth of the path's rate.
    const tooSoon = ev.now - this.roundStartTime < 0.9 * this.minRtt;
    if (newest && newest.deliveredAtSend >= this.nextRoundDelivered && !tooSoon) {
      this.nextRoundDelivered = ev.delivered;
      this.round++;
      this.roundStart = true;
      this.roundStartTime = ev.now;
    }
  }

  private updateBandwidth(ev: AckEvent): void {
    this.roundDelivered += ev.acked.reduce((n, p) => n + p.bytes, 0);
    const p = ev.acked[ev.acked.length - 1];
    if (!p) return;
    // Delivery rate over max(send interval, ack interval): ACK compression cannot inflate it.
    const sendElapsed = p.sentAt - p.firstSentTimeAtSend;
    const ackElapsed = (ev.deliveredTime ?? ev.now) - p.deliveredTimeAtSend;
    const interval = Math.max(sendElapsed, ackElapsed);
    // Too short to trust when under half a round trip. Which round trip: the fastest seen at all,
    // not the confirmed min RTT, which may be the stand-in (a handshake timed on a starved host:
    // 80 ms on loopback) or one confirmed while the host was starved: against that every sample of
    // a fast path was rejected, bandwidth never rose, and packets too sparse to confirm a lower min
    // RTT kept it so.
    const shortest = Math.min(this.minRtt, this.rawMinRtt);
    if (interval <= 0 || (Number.isFinite(shortest) && interval < shortest * 0.5)) return;
    const rate = ((ev.delivered - p.deliveredAtSend) * 1000) / interval;
    const appLimited = p.appLimitedAtSend || p.deliveredAtSend < this.appLimitedUntil;
    if (!appLimited || rate > this.bwFilter.value) this.bwFilter.update(rate, this.round);
  }

  private updateAckAggregation(ev: AckEvent): void {
    const bw = this.bandwidth();
    const acked = ev.acked.reduce((n, p) => n + p.bytes, 0);
    const expected = (bw * (ev.now - this.ackEpochStart)) / 1000;
    // A new epoch starts whenever ACKs fall behind the expected rate.
    if (bw === 0 || this.ackEpochBytes <= expected) {
      this.ackEpochStart = ev.now;
      this.ackEpochBytes = 0;
    }
    this.ackEpochBytes += acked;
    const extra = this.ackEpochBytes - (bw * (ev.now - this.ackEpochStart)) / 1000;
    // Capped at 100 ms of rate, as BBR does, so one odd burst cannot open the window wide.
    this.extraAcked.update(Math.min(Math.max(0, extra), bw * 0.1), this.round);
  }

  /** Once per round: classify the round's loss, run the delay guard. */
  private endRound(now: number): void {
    const roundRtt = this.roundRtt.value;
    const queue = Number.isFinite(roundRtt) && Number.isFinite(this.baseRtt) ? Math.max(0, roundRtt - this.baseRtt) : 0;
    this.lastRoundQueue = queue;
    const total = this.roundDelivered + this.roundLost;
    const lossRate = total > 0 ? this.roundLost / total : 0;
    const queueThreshold = Math.max(0.25 * this.baseRtt, HOST_DELAY_MS);
    // STARTUP overshoots by design and DRAIN removes that queue: loss then is self-inflicted, not a signal.
    const probing = this.mode === "startup" || this.mode === "drain";
    // Packets in flight when the last cut came could not have obeyed it (TCP's once per window).
    const freshLoss = this.roundLostSinceCut > 0;
    const congestive =
      !probing &&
      lossIsCongestive({
        lostBytes: this.roundLost,
        deliveredBytes: this.roundDelivered,
        mss: this.mss,
        randomLoss: this.randomLoss,
        freshLoss,
        queued: queue > queueThreshold,
      });
    // The random-loss baseline learns only from rounds without a standing queue.
    if (total > 0 && queue < queueThreshold / 2)
      this.randomLoss += (Math.min(lossRate, HEAVY_LOSS) - this.randomLoss) / 8;
    const queueMax = Math.min(25, 0.5 * this.baseRtt);
    // STARTUP also ends on a standing queue (HyStart's delay exit): a queue means the pipe is full.
    // Its plateau test alone let a flow starting beside others grow 25 % a round for seconds on
    // the rate they gave up (they were cut by its queue; it was exempt), so it left STARTUP with
    // 4-6x their share (1 Gbit/s × 300 ms, 5 flows: 100 MB/s against 15-25) and kept most of it.
    this.startupQueueRounds = this.mode === "startup" && queue > queueThreshold ? this.startupQueueRounds + 1 : 0;
    if (this.mode !== "startup" && queue > queueMax) this.queueHighRounds++;
    else this.queueHighRounds = 0;
    // The delay guard alone scales every flow by the same factor, so flows sharing a queue kept
    // the shares they left STARTUP with (5 flows, 1 Gbit/s, 0.1 % loss: Jain 0.83 after 30 s, not
    // one loss cut after 8 s). A standing queue also cuts the bound, as loss does, once its
    // previous cut had time to show: multiplicative decrease on a signal every flow sees, with
    // the equal-step recovery below, is AIMD, and converges. A queue under HOST_DELAY_MS counts
    // only with fresh loss in its round: on loopback (0.1 ms base RTT, so 0.05 ms "stood") host
    // timing alone cut the bound 177 times in a 256 MiB transfer without one loss, at 0.61x the
    // speed; with loss it is a buffer that filled (a 5 %-loss proxy: 13 % retransmitted with
    // such cuts, 16-26 % without).
    const standing = this.queueHighRounds >= 2 && (queue > HOST_DELAY_MS || freshLoss);
    const delayCut = !probing && standing && this.round - this.lastCutRound >= DELAY_CUT_ROUNDS;
    if (congestive || delayCut) {
      // Never below the window floor's rate (MIN_WINDOW_PACKETS a round trip), as with cwnd; only
      // a loss cut can prove spurious.
      const floor = this.floorRate();
      if (congestive) this.bound.cut(this.bwFilter.value, LOSS_CUT, floor, this.roundLost);
      else this.bound.cut(this.bwFilter.value, DELAY_CUT, floor, null);
      this.lastCutAt = now;
      this.lastCutRound = this.round;
    } else {
      // Any round that was not congestive lets the limit recover. Waiting for the queue to be gone
      // as well kept flows sharing a bottleneck (whose delay guard holds a small standing queue)
      // at whatever limit their last cut left, so the first flow out of STARTUP kept the most.
      // Steps of 1, 2, 4, … datagrams, not a factor (×1.05 a round kept every share): rate-bound.ts.
      this.bound.recover(this.mss, this.minRtt, this.bwFilter.value);
    }
    if (this.queueHighRounds >= 2) this.guarded = true;
    else if (queue < queueMax / 2) this.guarded = false;
    this.roundLost = 0;
    this.roundLostSinceCut = 0;
    this.roundDelivered = 0;
    this.roundRtt.reset();
  }

  private updateMode(ev: AckEvent): void {
    const now = ev.now;
    if (this.mode === "startup" && this.roundStart) {
      const bw = this.bwFilter.value;
      let full = this.startupQueueRounds >= 2;
      if (bw >= this.fullBw * 1.25) {
        this.fullBw = bw;
        this.fullBwRounds = 0;
      } else if (++this.fullBwRounds >= 3) full = true;
      if (full) {
        this.mode = "drain";
        this.pacingGain = DRAIN_GAIN;
        this.cwndGain = HIGH_GAIN;
      }
    }
    if (this.mode === "drain" && ev.bytesInFlight <= this.bdp()) this.enterProbeBw(now);
    if (this.mode === "probe-bw") {
      const gain = PROBE_GAINS[this.cycleIndex] as number;
      const elapsed = now - this.cycleStamp > this.minRtt;
      // Leave the 1.25 phase only once the extra inflight was actually sent; leave 0.75 early once drained.
      const advance =
        (gain > 1 && elapsed && ev.bytesInFlight >= gain * this.bdp()) ||
        (gain < 1 && (elapsed || ev.bytesInFlight <= this.bdp())) ||
        (gain === 1 && elapsed);
      if (advance || (gain > 1 && now - this.cycleStamp > 2 * this.minRtt)) {
        this.cycleIndex = (this.cycleIndex + 1) % PROBE_GAINS.length;
        this.cycleStamp = now;
      }
      this.pacingGain = this.guarded
        ? Math.min(0.9, PROBE_GAINS[this.cycleIndex] as number)
        : (PROBE_GAINS[this.cycleIndex] as number);
      this.cwndGain = this.guarded ? 1 : CWND_GAIN;
      if (now - this.minRttStamp > MIN_RTT_WINDOW_MS) {
        this.mode = "probe-rtt";
        this.priorCwnd = this.cwnd;
        this.probeRttDoneAt = now + Math.max(PROBE_RTT_MS, this.minRtt);
        this.pacingGain = 1;
      }
    }
    if (this.mode === "probe-rtt" && now >= this.probeRttDoneAt) {
      this.minRttStamp = now;
      this.cwnd = Math.max(this.cwnd, this.priorCwnd);
      this.enterProbeBw(now);
    }
  }

  private enterProbeBw(now: number): void {
    this.mode = "probe-bw";
    this.cwndGain = CWND_GAIN;
    // Random start phase, but never the draining one, as BBRv1 does.
    this.cycleIndex = 2 + Math.floor(this.config.random() * (PROBE_GAINS.length - 2));
    this.cycleStamp = now;
    this.pacingGain = PROBE_GAINS[this.cycleIndex] as number;
  }

  private updateCwnd(ev: AckEvent): void {
    // Headroom for our own pacing quantum (the pacer releases ~2 ms bursts) and measured ACK aggregation.
    const quanta = 2 * Math.max((this.bandwidth() * 2) / 1000, 2 * this.mss);
    const target = this.cwndGain * this.bdp() + quanta + this.extraAcked.value;
    const acked = ev.acked.reduce((n, p) => n + p.bytes, 0);
    const floor = MIN_WINDOW_PACKETS * this.mss;
    if (this.mode === "startup") this.cwnd = Math.max(this.cwnd, Math.min(this.cwnd + acked, target));
    else this.cwnd = Math.max(floor, Math.min(this.cwnd + acked, target));
    if (this.mode === "startup" && this.bwFilter.value === 0) this.cwnd = Math.max(this.cwnd, this.priorCwnd / 4);
  }
}
