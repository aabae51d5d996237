/**
 * The seam between the ARQ and congestion control (quic-go's SendAlgorithm in spirit).
 * Pure: every call gets `now` in milliseconds from the caller's clock; no timers, no I/O.
 */

export interface AckedPacket {
  /** Bytes of the acknowledged datagram (payload + header). */
  bytes: number;
  /** When it was sent (ms). */
  sentAt: number;
  /** Bytes delivered on the connection when it was sent (for delivery-rate samples). */
  deliveredAtSend: number;
  /** Time of the delivery the packet was sent after (ms), for delivery-rate samples. */
  deliveredTimeAtSend: number;
  /** Send time of the first packet of the flight it belonged to (ms), for delivery-rate samples. */
  firstSentTimeAtSend: number;
  /** True when the sender had nothing more to send at the time (the sample understates the rate). */
  appLimitedAtSend: boolean;
}

export interface AckEvent {
  now: number;
  /** Newly acknowledged packets in this ACK, in send order. */
  acked: readonly AckedPacket[];
  /** RTT sample from this ACK (ms), if one was taken (Karn: never from retransmissions). */
  rttSample?: number;
  /**
   * A sample that may be read as propagation plus queueing delay: it did not overtake packets sent
   * before it (a reordered packet that skipped a delay did). For min RTT and queue estimates.
   */
  minRttSample?: number;
  /** Smallest RTT seen over the estimator's window (ms). */
  minRtt: number;
  /** Total bytes delivered on the connection after this ACK. */
  delivered: number;
  /**
   * The delivery clock after this ACK (ms; absent: `now`), against which `deliveredTimeAtSend` is
   * read: the ACK's arrival, unless it skipped a delay on its way back (sent-packets.ts).
   */
  deliveredTime?: number;
  /** Bytes in flight after this ACK was processed. */
  bytesInFlight: number;
}

export interface LossEvent {
  now: number;
  /** Bytes declared lost in this event. */
  lostBytes: number;
  bytesInFlight: number;
  /** Largest send time among lost packets (ms): lets a controller count one loss episode once. */
  largestLostSentAt: number;
}

export interface CongestionController {
  readonly name: string;
  /** Bytes that may be in flight now. */
  congestionWindow(): number;
  /** Current pacing rate in bytes per second. */
  pacingRate(): number;
  onPacketSent(now: number, bytes: number, bytesInFlight: number, isRetransmission: boolean): void;
  onAck(ev: AckEvent): void;
  onLoss(ev: LossEvent): void;
  /** Packets declared lost earlier were delivered after all: undo what their loss did. */
  onSpuriousLoss(ev: { now: number; bytes: number }): void;
  /** A retransmission timeout fired (everything in flight is presumed lost). */
  onRetransmissionTimeout(now: number): void;
  /** The path MTU prober confirmed larger datagrams (bytes): windows count in them from now on. */
  onDatagramSize(bytes: number): void;
  /** The sender ran out of data to send: rate samples taken now do not reflect the path. */
  onAppLimited(now: number): void;
  /** For --json stats. */
  stats(): Record<string, number | string>;
}

export interface ControllerConfig {
  /** Maximum datagram size used for windows (bytes). */
  mss: number;
  /** User cap from --rate, in bytes per second (Infinity when none). */
  maxRate: number;
  /** Initial window in packets (RFC 9002 suggests 10). */
  initialWindowPackets: number;
  /** Uniform in [0, 1): injected so simulated runs replay exactly from their seed. */
  random: () => number;
}
