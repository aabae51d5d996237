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
import type { PnRange } from "./wire/frames.ts";

/** Limit on the exponential PTO backoff (ms): after a blackout, probing resumes this often at worst. */
export const MAX_PTO_MS = 2000;
/** Consecutive PTOs after which everything in flight is presumed lost (persistent congestion). */
export const PERSISTENT_PTOS = 3;

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

  /** An ACK frame's ranges (newest first) and ACK delay (µs, as the peer reported it). */
  onAck(ranges: readonly PnRange[], delayUs: number, now: number): void {
    const result = this.sent.onAck(ranges, now);
    if (result.acked.length === 0) return;
    if (result.rttSample !== undefined) {
      const newest = result.acked[result.acked.length - 1] as SentPacket;
      if (newest.ackEliciting) this.rtt.update(result.rttSample, Math.min(delayUs / 1000, MAX_ACK_DELAY_MS));
    }
    for (const p of result.acked) this.events.onPacketAcked(p);
    this.ptoCount = 0;
    this.detectLosses(now);
    this.cc.onAck({
      now,
      acked: result.acked.filter((p) => p.inFlight),
      rttSample: result.rttSample,
      minRtt: this.rtt.min,
      delivered: this.sent.delivered,
      bytesInFlight: this.sent.bytesInFlight,
    });
  }

  detectLosses(now: number): void {
    const { lost, nextCheck } = this.sent.detectLosses(now, this.rtt.lossDelay());
    this.lossTime = nextCheck;
    if (lost.length === 0) return;
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
