/**
 * Loss recovery (RFC 9002 §6, quic-go's ackhandler in spirit): applies ACK frames to the record of
 * packets in flight, takes RTT samples, declares packets lost by reordering threshold and by time,
 * runs the probe timeout (PTO), and tells the congestion controller what happened. What a packet
 * carried (stream ranges, MAX_DATA, an MTU probe) is the connection's business: it learns of each
 * acknowledged and lost packet through `RecoveryEvents`.
 */
import type { CongestionController } from "./congestion/controller.ts";
import { MAX_ACK_DELAY_MS } from "./received-packets.ts";
import { RttEstimator } from "./rtt.ts";
import { type SentPacket, SentPackets } from "./sent-packets.ts";
import type { AckStamp, PnRange } from "./wire/frames.ts";

/** Limit on the exponential PTO backoff (ms): after a blackout, probing resumes this often at worst. */
export const MAX_PTO_MS = 2000;
/** Consecutive PTOs after which everything in flight is presumed lost (persistent congestion). */
export const PERSISTENT_PTOS = 3;
/**
 * RACK's adaptive reordering window (RFC 8985 §6.2), in eighths of an RTT on top of the RTT: it
 * starts at RFC 9002's 1/8, grows by 1/8 (at most once a round trip) whenever a spurious loss
 * shows the path delays some packets more than that, up to a whole RTT, and shrinks by 1/8 after
 * 16 loss episodes without one (RACK resets it; stepping down keeps it near what the path needs).
 */
export const MAX_REORDER_EIGHTHS = 8;
const REORDER_DECAY_EPISODES = 16;

export interface RecoveryEvents {
  onPacketAcked(p: SentPacket): void;
  /** Declared lost (or, on a PTO, only re-queued: `declared` false) so its contents go again. */
  onPacketLost(p: SentPacket, declared: boolean): void;
}

export class LossRecovery {
  readonly rtt = new RttEstimator();
  readonly sent = new SentPackets();
  /** Probe packets the connection owes after a PTO (each ack-eliciting, sent even if cwnd is full). */
  probesDue = 0;
  lastAckElicitingSent: number;
  /** When the time-threshold loss check is next due (Infinity: none). */
  lossTime = Number.POSITIVE_INFINITY;
  private ptoCount = 0;
  /** The reordering window, in eighths of an RTT (see MAX_REORDER_EIGHTHS). */
  reorderEighths = 1;
  private reorderGrownAt = Number.NEGATIVE_INFINITY;
  private episodesSinceSpurious = 0;
  private lastEpisodeAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly cc: CongestionController,
    private readonly events: RecoveryEvents,
    now: number,
  ) {
    this.lastAckElicitingSent = now;
  }

  /** Every packet sent goes through here, so packet numbers stay consecutive in the record. */
  onPacketSent(p: SentPacket, now: number): void {
    this.sent.onSent(p);
    if (!p.ackEliciting || !p.inFlight) return;
    this.lastAckElicitingSent = now;
    this.cc.onPacketSent(now, p.bytes, this.sent.bytesInFlight, p.stream.length > 0);
  }

  /** A handshake round trip, timed unambiguously (Karn): the min RTT until a confirmed one. */
  onHandshakeRtt(sample: number): void {
    this.rtt.update(sample, 0);
    this.rtt.observeHandshake(sample);
  }

  /** An ACK frame's ranges (newest first), ACK delay (µs, as the peer reported it) and the peer's clock. */
  onAck(ranges: readonly PnRange[], delayUs: number, now: number, stamp?: AckStamp): void {
    const ackDelay = Math.min(delayUs / 1000, MAX_ACK_DELAY_MS);
    const result = this.sent.onAck(ranges, now, stamp);
    if (result.spurious.length) this.onSpurious(result.spurious, now);
    if (result.acked.length === 0) return;
    // The largest newly acknowledged packet times the round trip (see sent-packets.ts), if it is
    // ack-eliciting: the peer holds ACKs for nothing else.
    const newest = result.acked[result.acked.length - 1] as SentPacket;
    const rttSample = newest.ackEliciting ? result.rttSample : undefined;
    if (rttSample !== undefined) this.rtt.update(rttSample, result.sampleIsLargest ? ackDelay : 0);
    for (const p of result.acked) this.events.onPacketAcked(p);
    this.ptoCount = 0;
    this.detectLosses(now);
    const minRttSample = this.sent.takeMinRttSample();
    if (minRttSample !== undefined) this.rtt.observeMin(minRttSample);
    this.cc.onAck({
      now,
      acked: result.acked.filter((p) => p.inFlight),
      rttSample,
      minRttSample,
      minRtt: this.rtt.min,
      delivered: this.sent.delivered,
      deliveredTime: this.sent.deliveredTime,
      bytesInFlight: this.sent.bytesInFlight,
    });
  }

  /** Packets declared lost were delivered after all: their data is home, and the loss was reordering. */
  private onSpurious(spurious: readonly SentPacket[], now: number): void {
    let bytes = 0;
    for (const p of spurious) {
      this.events.onPacketAcked(p);
      if (p.inFlight) bytes += p.bytes;
    }
    if (bytes) this.cc.onSpuriousLoss({ now, bytes });
    this.episodesSinceSpurious = 0;
    if (now - this.reorderGrownAt >= this.rtt.smoothed && this.reorderEighths < MAX_REORDER_EIGHTHS) {
      this.reorderEighths++;
      this.reorderGrownAt = now;
    }
  }

  detectLosses(now: number): void {
    const { lost, nextCheck } = this.sent.detectLosses(now, this.rtt.lossDelay(this.reorderEighths));
    this.lossTime = nextCheck;
    if (lost.length === 0) return;
    // An episode is a round trip with losses, as RACK counts recoveries, not each packet.
    if (now - this.lastEpisodeAt >= this.rtt.smoothed) {
      this.lastEpisodeAt = now;
      if (++this.episodesSinceSpurious >= REORDER_DECAY_EPISODES) {
        this.reorderEighths = Math.max(1, this.reorderEighths - 1);
        this.episodesSinceSpurious = 0;
      }
    }
    let lostBytes = 0;
    let largestLostSentAt = 0;
    for (const p of lost) this.events.onPacketLost(p, true);
    for (const p of lost) {
      if (!p.inFlight) continue;
      lostBytes += p.bytes;
      largestLostSentAt = Math.max(largestLostSentAt, p.sentAt);
    }
    if (lostBytes) this.cc.onLoss({ now, lostBytes, bytesInFlight: this.sent.bytesInFlight, largestLostSentAt });
  }

  /** Time checks: call on every tick; `active` is false where no PTO applies (handshake, closing). */
  onTimer(now: number, active: boolean): void {
    if (now >= this.lossTime) this.detectLosses(now);
    if (now >= this.ptoDeadline(active)) this.onPto(now);
  }

  private onPto(now: number): void {
    this.ptoCount++;
    if (this.ptoCount >= PERSISTENT_PTOS) {
      // A long silence: presume everything in flight lost and restart the controller gently.
      for (const p of [...this.sent.outstanding()]) {
        this.sent.declareLost(p);
        this.events.onPacketLost(p, true);
      }
      this.cc.onRetransmissionTimeout(now);
      this.rtt.reset();
    } else {
      // Probe with the oldest unacknowledged data (re-queued, not declared lost) or a PING.
      const oldest = this.sent.outstanding()[Symbol.iterator]().next().value as SentPacket | undefined;
      if (oldest) this.events.onPacketLost(oldest, false);
    }
    this.probesDue = 2;
    this.lastAckElicitingSent = now;
  }

  /** The PTO before backoff. */
  ptoBase(): number {
    return this.rtt.pto(MAX_ACK_DELAY_MS);
  }

  ptoDeadline(active: boolean): number {
    if (!active || !this.sent.hasAckEliciting) return Number.POSITIVE_INFINITY;
    if (this.lossTime !== Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
    const backoff = Math.min(this.ptoBase() * 2 ** this.ptoCount, Math.max(MAX_PTO_MS, 2 * this.rtt.smoothed));
    return this.lastAckElicitingSent + backoff;
  }
}
