/**
 * The sender's record of packets in flight, and loss detection after RFC 9002 §6.1: a packet is
 * lost once a packet sent at least PACKET_THRESHOLD later was acknowledged, or once it is older
 * than the loss delay relative to one that was. Once an ACK proves a loss spurious the path
 * reorders, and the packet threshold is dropped for good (RACK, RFC 8985 §6.2): a packet that
 * skipped a 25 ms delay at 100 Mbit/s overtakes 200 others, more than any count can tolerate,
 * while time still tells a late packet from a lost one. Delivery-rate state (draft-cheng-iccrg-
 * delivery-rate-estimation) is stamped on every packet so the congestion controller can measure
 * bandwidth.
 *
 * Which RTT samples may be read as propagation delay is leg-delays.ts's business, from the peer's
 * clock in each ACK; so is the delivery clock that times rate samples.
 */
import { LegDelays } from "./leg-delays.ts";
import type { AckStamp, PnRange } from "./wire/frames.ts";

export const PACKET_THRESHOLD = 3;
const MAX_REMEMBERED = 1 << 16;

export interface SentFrameRange {
  offset: number;
  length: number;
  fin: boolean;
}

export interface SentPacket {
  pn: number;
  sentAt: number;
  bytes: number;
  ackEliciting: boolean;
  /** Counted in bytes in flight (ack-eliciting packets are). */
  inFlight: boolean;
  stream: SentFrameRange[];
  /** Carried MAX_DATA: resend the credit if this is lost. */
  maxData: boolean;
  deliveredAtSend: number;
  deliveredTimeAtSend: number;
  firstSentTimeAtSend: number;
  appLimitedAtSend: boolean;
  state: "sent" | "acked" | "lost";
  /** Once acked: the lowest PN of the ACK range that covered it (all between were acked with it). */
  ackedRunLow: number;
}

export interface AckResult {
  acked: SentPacket[];
  /**
   * The round trip of the largest newly acknowledged packet. RFC 9002 samples only when that is
   * the frame's largest; on a reordering path a packet that skipped the delay is acknowledged
   * early, the ACKs for what it overtook then carry no new largest, and nearly every sample left
   * is a reordered one. The fill-ins are acknowledged at once (they arrive out of order), so their
   * round trip is as good a sample.
   */
  rttSample?: number;
  /** The sample is the frame's largest: the peer's ACK delay applies to it. */
  sampleIsLargest: boolean;
  /** Packets declared lost earlier that this ACK proves delivered (each reported once). */
  spurious: SentPacket[];
}

export class SentPackets {
  private readonly packets: SentPacket[] = [];
  private head = 0;
  /** PN of packets[0] (PNs are consecutive: every packet sent is recorded). */
  private basePn = 0;
  largestAcked = -1;
  bytesInFlight = 0;
  packetThreshold = PACKET_THRESHOLD;
  /** Delivery-rate state of the connection. */
  delivered = 0;
  deliveredTime = 0;
  firstSentTime = 0;
  lostBytes = 0;
  lostPackets = 0;
  spuriousLosses = 0;

  /** Ack-eliciting packets in state "sent": hasAckEliciting is asked on every deadline(). */
  private elicitingOutstanding = 0;
  /**
   * Send times by packet number, kept after the records are trimmed: on a reordering path half the
   * ACKs name as their latest arrival a packet an early ACK already acknowledged, and timing only
   * the others left mostly reordered packets to time the forward leg by.
   */
  private readonly sendTimes = new SendTimes();
  /** The round trip's legs, timed apart by the peer's clock: min RTT samples and the delivery clock. */
  private readonly legs = new LegDelays();
  /** The last loss delay (about 9/8 srtt): how long lost packets are remembered. */
  private lossDelay = 0;
  /** A round trip no reordering can fake (leg-delays.ts); taken by takeMinRttSample(). */
  private confirmedRtt: number | undefined;

  onSent(p: SentPacket): void {
    if (this.packets.length === 0) this.basePn = p.pn;
    if (p.inFlight) {
      if (this.bytesInFlight === 0) {
        this.firstSentTime = p.sentAt;
        this.deliveredTime = p.sentAt;
      }
      this.bytesInFlight += p.bytes;
    }
    p.deliveredAtSend = this.delivered;
    p.deliveredTimeAtSend = this.deliveredTime;
    p.firstSentTimeAtSend = this.firstSentTime;
    if (p.ackEliciting) this.elicitingOutstanding++;
    this.packets.push(p);
    this.sendTimes.set(p.pn, p.sentAt, this.packets.length - this.head);
  }

  /**
   * Applies an ACK frame's ranges (newest first) and the peer's clock (`stamp`; absent in tests of
   * what needs none: then no min RTT sample is taken and deliveries are timed by `now`).
   */
  onAck(ranges: readonly PnRange[], now: number, stamp?: AckStamp): AckResult {
    const acked: SentPacket[] = [];
    const spurious: SentPacket[] = [];
    let rttSample: number | undefined;
    // A peer acknowledging packets never sent must not make every later packet look lost.
    const largest = Math.min((ranges[0] as PnRange).high, this.largestSent);
    let deliveredAt = now;
    if (stamp) {
      const writtenAt = stamp.timeUs / 1000;
      const receivedAt = writtenAt - stamp.latestAgeUs / 1000;
      const sentAt = stamp.latestPn <= this.largestSent ? this.sendTimes.get(stamp.latestPn) : undefined;
      const rtt = this.legs.onFrame(writtenAt, now, stamp.latestPn, receivedAt, sentAt, this.lossDelay);
      if (rtt !== undefined) this.confirmedRtt = Math.min(this.confirmedRtt ?? rtt, rtt);
      deliveredAt = this.legs.unhurriedArrival(writtenAt) ?? now;
    }
    for (const r of ranges) {
      const low = Math.max(r.low, this.basePn + this.head);
      // Descending, jumping over runs acknowledged together before: ACKs repeat old ranges, and
      // walking them packet by packet would cost O(window) per ACK.
      for (let pn = Math.min(r.high, this.basePn + this.packets.length - 1); pn >= low; pn--) {
        const p = this.packets[pn - this.basePn] as SentPacket;
        if (p.state === "acked") {
          pn = p.ackedRunLow;
          continue;
        }
        if (p.state === "lost") spurious.push(p);
        else {
          if (p.ackEliciting) this.elicitingOutstanding--;
          if (p.inFlight) this.bytesInFlight -= p.bytes;
          acked.push(p);
        }
        p.state = "acked";
        p.ackedRunLow = low;
      }
    }
    if (acked.length === 0 && spurious.length === 0) return { acked, spurious, sampleIsLargest: false };
    acked.sort((a, b) => a.pn - b.pn);
    const newest = acked[acked.length - 1];
    if (newest) rttSample = now - newest.sentAt;
    if (largest > this.largestAcked) this.largestAcked = largest;
    for (const p of acked) {
      if (!p.inFlight) continue;
      this.delivered += p.bytes;
      // The delivery clock: when this ACK would have come had it not skipped a delay on its way
      // back (an early ACK reports at once what the ACKs it overtook would have, and timed by its
      // arrival it read the link at 1.9× its rate); never backwards.
      this.deliveredTime = Math.max(this.deliveredTime, deliveredAt);
      if (p.sentAt > this.firstSentTime) this.firstSentTime = p.sentAt;
    }
    if (spurious.length) {
      this.spuriousLosses += spurious.length;
      this.packetThreshold = Number.POSITIVE_INFINITY;
    }
    this.trim(now);
    return { acked, rttSample, sampleIsLargest: newest?.pn === largest, spurious };
  }

  /** The latest RTT sample known not to have overtaken older packets (undefined: none since last asked). */
  takeMinRttSample(): number | undefined {
    const r = this.confirmedRtt;
    this.confirmedRtt = undefined;
    return r;
  }

  /**
   * Declares lost the in-flight packets below the largest acknowledged one that are too far behind
   * it in number or in time. Returns them, and when the next time-based check is due (Infinity: none).
   */
  detectLosses(now: number, lossDelay: number): { lost: SentPacket[]; nextCheck: number } {
    this.lossDelay = lossDelay;
    const lost: SentPacket[] = [];
    let nextCheck = Number.POSITIVE_INFINITY;
    const end = Math.min(this.largestAcked - this.basePn, this.packets.length - 1);
    for (let i = this.head; i <= end; i++) {
      const p = this.packets[i] as SentPacket;
      if (p.state !== "sent") continue;
      if (!p.ackEliciting) {
        // ACK-only packets are never acknowledged on their own; forget them once passed.
        p.state = "acked";
        p.ackedRunLow = p.pn;
        continue;
      }
      // Same arithmetic as the timer below (sentAt + lossDelay), or a rounding gap can leave the
      // timer due forever with nothing declared lost.
      if (this.largestAcked - p.pn >= this.packetThreshold || p.sentAt + lossDelay <= now) {
        this.declareLost(p);
        lost.push(p);
      } else nextCheck = Math.min(nextCheck, p.sentAt + lossDelay);
    }
    this.trim(now);
    return { lost, nextCheck };
  }

  /** Every ack-eliciting packet still outstanding (for a retransmission timeout). */
  *outstanding(): Iterable<SentPacket> {
    for (let i = this.head; i < this.packets.length; i++) {
      const p = this.packets[i] as SentPacket;
      if (p.state === "sent" && p.ackEliciting) yield p;
    }
  }

  /** Marks a packet lost (by detectLosses, or outside the ACK path: persistent congestion, RTO). */
  declareLost(p: SentPacket): void {
    if (p.state !== "sent") return;
    p.state = "lost";
    if (p.ackEliciting) this.elicitingOutstanding--;
    if (p.inFlight) this.bytesInFlight -= p.bytes;
    this.lostBytes += p.bytes;
    this.lostPackets++;
  }

  /** The highest packet number sent (-1: none yet); packet numbers are consecutive from basePn. */
  get largestSent(): number {
    return this.basePn + this.packets.length - 1;
  }

  get hasAckEliciting(): boolean {
    return this.elicitingOutstanding > 0;
  }

  /**
   * Drops settled packets from the front. Lost ones stay a while so a late ACK can still reveal a
   * spurious loss: until 1024 newer ones were sent and two loss delays passed (a queue that grew
   * faster than srtt can make a whole window look lost; at 100 Mbit/s × 300 ms, 1024 packets go
   * in a third of the round trip), and at most MAX_REMEMBERED behind the newest.
   */
  private trim(now: number): void {
    const ps = this.packets;
    while (this.head < ps.length) {
      const p = ps[this.head] as SentPacket;
      const behind = ps.length - this.head;
      const forgotten = (behind > 1024 && now - p.sentAt > 2 * this.lossDelay) || behind > MAX_REMEMBERED;
      const settled = p.state === "acked" || (p.state === "lost" && forgotten);
      if (!settled) break;
      ps[this.head++] = undefined as unknown as SentPacket;
    }
    if (this.head > 4096 && this.head * 2 > ps.length) {
      ps.splice(0, this.head);
      this.basePn += this.head;
      this.head = 0;
    }
  }
}

/** Send times of the newest packets, in a ring that grows with the packets kept (at most MAX_REMEMBERED). */
class SendTimes {
  private times = new Float64Array(1024);
  private newest = -1;

  /** `kept`: packets the record holds now; the ring keeps at least twice as many. */
  set(pn: number, sentAt: number, kept: number): void {
    if (kept * 2 > this.times.length && this.times.length < MAX_REMEMBERED) {
      const old = this.times;
      const grown = new Float64Array(old.length * 2);
      for (let q = Math.max(0, this.newest - old.length + 1); q <= this.newest; q++)
        grown[q & (grown.length - 1)] = old[q & (old.length - 1)] as number;
      this.times = grown;
    }
    this.times[pn & (this.times.length - 1)] = sentAt;
    this.newest = pn;
  }

  /** Undefined once the ring has moved past `pn`. */
  get(pn: number): number | undefined {
    if (pn > this.newest || pn <= this.newest - this.times.length || pn < 0) return undefined;
    return this.times[pn & (this.times.length - 1)];
  }
}
