/**
 * One udp-reliable connection as a pure state machine, in the shape of KCP's ikcp_update/ikcp_check:
 * the caller feeds it parsed packets (`receive`), the time (`tick`), application bytes (`write`,
 * `end`), and collects datagrams to send (`poll`) and the next time it must be called (`deadline`).
 * No sockets, no timers, no clock of its own, so tests drive it over a simulated link.
 *
 * States (docs/PROTOCOL.md §2.5):
 *   client: syn-sent → echo-sent → established      server: established (created on a valid ECHO)
 *   established → linger (both FINs done; re-ACKs stray retransmissions for 3·PTO) → closed
 *   any → closing (we aborted; repeat CLOSE to stray packets for 3·PTO) → closed
 *   any → closed (peer CLOSE, RESET, idle timeout, handshake timeout)
 *
 * Why one file of this size: what remains here (the states, frame dispatch, the timers that decide
 * `deadline`) shares the connection's fields at every step. The parts that stand alone live beside
 * it with their own tests: packet assembly (packet-packer.ts), ACKs, loss detection, RTT and the
 * probe timeout (loss-recovery.ts, sent-packets.ts), MTU probing (mtu-prober.ts).
 */

import { Pacer } from "../../src/plugin/udp/pacer.ts";
import type { CongestionController } from "./congestion/controller.ts";
import { createController } from "./congestion/index.ts";
import { ReceiveWindow, type WindowConfig } from "./flow-control.ts";
import { LossRecovery } from "./loss-recovery.ts";
import { MtuProber } from "./mtu-prober.ts";
import { type Packed, PacketPacker } from "./packet-packer.ts";
import { ReceivedPackets } from "./received-packets.ts";
import { RecvStream } from "./recv-stream.ts";
import { SendStream } from "./send-stream.ts";
import type { SentPacket } from "./sent-packets.ts";
import { CLOSE_CODE, type Frame, readFrames } from "./wire/frames.ts";
import {
  type DataPacket,
  type EchoPacket,
  encodeSyn,
  type Packet,
  readPacket,
  type TransportParams,
  WIRE_VERSION,
} from "./wire/packet.ts";
import { WireError } from "./wire/varint.ts";

export type ConnectionState = "syn-sent" | "echo-sent" | "established" | "linger" | "closing" | "closed";

export interface ConnectionConfig {
  /** Largest datagram this side sends on this path (probed up to it); it accepts any size. */
  maxDatagram: number;
  idleTimeoutMs: number;
  /** Give up on a handshake unanswered this long (ms). */
  handshakeTimeoutMs: number;
  window: WindowConfig;
  /** Congestion controller name (see congestion/index.ts). */
  cc: string;
  /** --rate cap in bytes/s (Infinity: none). */
  maxRate: number;
  /**
   * Bytes written but not yet acknowledged before write() reports backpressure; grows to 2·cwnd
   * (at most window.max) on paths whose bandwidth-delay product needs more.
   */
  sendBufferBytes: number;
  /** Randomness for the controller (BBR's probing phase); seeded in simulations. */
  random: () => number;
  /**
   * Client: a round trip to the peer measured before the dial (UdpPath.rttHintMs), which times the
   * handshake's repeats until the SYN-ACK gives a sample of our own. Absent: the fixed 250 ms.
   */
  rttHintMs?: number;
}

export const DEFAULT_CONFIG: ConnectionConfig = {
  maxDatagram: 1472,
  idleTimeoutMs: 30_000,
  handshakeTimeoutMs: 8_000,
  window: { initial: 2 * 1024 * 1024, max: 256 * 1024 * 1024 },
  cc: "bbr",
  maxRate: Number.POSITIVE_INFINITY,
  sendBufferBytes: 8 * 1024 * 1024,
  random: Math.random,
};

/** Why a connection ended badly, for the stream adapter's errors. */
export class ConnectionError extends Error {
  constructor(
    message: string,
    readonly kind: "handshake-timeout" | "refused" | "idle-timeout" | "peer-closed" | "reset" | "protocol" | "aborted",
  ) {
    super(message);
  }
}

const MIN_LINGER_MS = 1000;
/** The first handshake repeat when no round trip is known. */
const HANDSHAKE_REPEAT_MS = 250;
/** The least a repeat timed from a known round trip waits (a loopback RTT would make it spin). */
const HINTED_REPEAT_MIN_MS = 20;
// 32 like quic-go allows: 10 (RFC 9002) costs two extra round trips of STARTUP on long paths.
const INITIAL_WINDOW_PACKETS = 32;
/** Every endpoint receives datagrams of any size UDP allows; what is sent depends on the path. */
export const ACCEPT_DATAGRAM = 65507;

export class Connection {
  state: ConnectionState;
  error: ConnectionError | null = null;
  readonly role: "client" | "server";
  readonly localCid: Uint8Array;
  private peerParams: TransportParams | null = null;
  private readonly config: ConnectionConfig;

  private readonly received: ReceivedPackets;
  private readonly sendStream = new SendStream();
  private readonly recvStream: RecvStream;
  private readonly window: ReceiveWindow;
  private readonly cc: CongestionController;
  private readonly pacer: Pacer;
  private readonly recovery: LossRecovery;
  private readonly packer: PacketPacker;
  private readonly mtu = new MtuProber();
  private peerMaxData: number;

  private handshakeStarted: number;
  private handshakeDue = 0;
  private handshakeAttempts = 0;
  private cookie: Uint8Array | null = null;
  private lastReceived: number;
  private stateDeadline = Number.POSITIVE_INFINITY;
  private closeFrame: { code: number; reason: string } | null = null;
  private closeDue = false;
  /** Listener in LINGER: tell the dialer it has everything (CLOSE "finished"), so it need not linger. */
  private finishedDue = false;
  private maxDataDue = false;
  private appLimited = false;
  private nextPacingTime = 0;
  private lingered = false;
  private peerFinished = false;

  /** What this side received (the packer counts what it sent). */
  readonly counters = {
    packetsReceived: 0,
    bytesReceived: 0,
    duplicatePackets: 0,
    malformed: 0,
  };

  constructor(
    role: "client" | "server",
    localCid: Uint8Array,
    remoteCid: Uint8Array,
    config: ConnectionConfig,
    now: number,
  ) {
    this.role = role;
    this.localCid = localCid;
    this.config = config;
    this.received = new ReceivedPackets(now);
    this.window = new ReceiveWindow(config.window);
    this.recvStream = RecvStream.forWindow(config.window.max);
    this.peerMaxData = 0;
    this.cc = this.makeController();
    this.pacer = new Pacer(this.mtu.size, now);
    this.recovery = new LossRecovery(
      this.cc,
      { onPacketAcked: (p) => this.onPacketAcked(p), onPacketLost: (p, declared) => this.onPacketLost(p, declared) },
      now,
    );
    this.packer = new PacketPacker(
      { received: this.received, window: this.window, sendStream: this.sendStream, recovery: this.recovery },
      remoteCid,
    );
    this.handshakeStarted = now;
    this.lastReceived = now;
    this.state = role === "client" ? "syn-sent" : "established";
  }

  /** The peer's CID (the client learns the server's from its SYN-ACK). */
  get remoteCid(): Uint8Array {
    return this.packer.remoteCid;
  }

  private get rtt() {
    return this.recovery.rtt;
  }

  /** What this side declares in SYN/ECHO or SYN-ACK. */
  get params(): TransportParams {
    return {
      maxDatagram: ACCEPT_DATAGRAM,
      initialMaxData: this.config.window.initial,
      idleTimeoutMs: this.config.idleTimeoutMs,
    };
  }

  /** Server side: the connection is created from a valid ECHO; process it like any packet. */
  acceptEcho(echo: EchoPacket, handshakeRtt: number, now: number): void {
    this.setPeer(echo.params);
    // Karn's rule: only the first ECHO (packet number 0) times the round trip unambiguously.
    if (handshakeRtt > 0 && echo.pn === 0) this.recovery.onHandshakeRtt(handshakeRtt);
    this.receive(echo, now);
  }

  // ---- input -------------------------------------------------------------------------------

  /** Client side: a raw datagram from the socket (the listener core parses for servers). */
  receiveDatagram(datagram: Uint8Array, now: number): void {
    let packet: Packet;
    try {
      packet = readPacket(datagram);
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      this.counters.malformed++;
      return;
    }
    if (packet.type === "data" && !sameBytes(packet.dcid, this.localCid)) {
      this.counters.malformed++;
      return;
    }
    this.receive(packet, now);
  }

  receive(packet: Packet, now: number): void {
    if (this.state === "closed") return;
    switch (packet.type) {
      case "syn-ack":
        // Only the first answer counts: a later SYN-ACK (to a repeated SYN) names another server
        // CID, and switching to it would leave the listener holding two half-open connections.
        if (this.state !== "syn-sent") return;
        if (!sameBytes(packet.clientCid, this.localCid)) return;
        // Karn's rule: a repeated SYN makes the round trip ambiguous. Then a hinted round trip (an upper
        // bound) seeds the estimate: without any, the first PTOs would count from the initial 333 ms.
        if (this.handshakeAttempts === 1) this.recovery.onHandshakeRtt(now - this.handshakeStarted);
        else if (this.config.rttHintMs !== undefined) this.recovery.onHandshakeRtt(this.config.rttHintMs);
        this.packer.remoteCid = packet.serverCid;
        this.cookie = packet.cookie;
        this.setPeer(packet.params);
        this.state = "echo-sent";
        this.handshakeDue = now;
        this.handshakeAttempts = 0;
        this.lastReceived = now;
        return;
      case "reset":
        // A listener that stops accepting answers a SYN with a RESET naming our own CID.
        if (this.state === "syn-sent" && sameBytes(packet.cid, this.localCid))
          this.fail(new ConnectionError("the listener is not accepting connections", "refused"));
        else if (this.state === "linger" && sameBytes(packet.cid, this.remoteCid))
          // Both directions were already done: the peer just forgot us before our linger ended.
          this.state = "closed";
        else if (this.state !== "syn-sent" && sameBytes(packet.cid, this.remoteCid))
          this.fail(new ConnectionError("the peer no longer knows this connection (it restarted or gave up)", "reset"));
        return;
      case "data":
      case "echo":
        this.receiveFrames(packet, now);
        return;
      case "version":
        // Only an answer to our own SYN, and only one that does not list our version (a listener
        // that speaks it would have answered SYN-ACK): anything else is stale or forged.
        if (
          this.state === "syn-sent" &&
          sameBytes(packet.clientCid, this.localCid) &&
          !packet.versions.includes(WIRE_VERSION)
        )
          this.fail(
            new ConnectionError(
              `the listener speaks udp-reliable wire version ${packet.versions.join(", ")}; this xfer speaks ${WIRE_VERSION} (upgrade one side)`,
              "refused",
            ),
          );
        return;
      case "syn":
        return;
    }
  }

  private receiveFrames(packet: DataPacket | EchoPacket, now: number): void {
    let frames: Frame[];
    try {
      frames = readFrames(packet.payload);
    } catch (err) {
      if (err instanceof WireError) {
        this.counters.malformed++;
        return;
      }
      throw err;
    }
    this.counters.packetsReceived++;
    this.lastReceived = now;
    if (this.state === "echo-sent" && packet.type === "data") {
      this.state = "established";
      this.handshakeDue = Number.POSITIVE_INFINITY;
    }
    if (this.state === "closing") {
      this.closeDue = true;
      return;
    }
    // ACK and MAX_DATA ride on every packet and are repeated, so they alone never ask for an ACK.
    const eliciting = frames.some((f) => f.type === "stream" || f.type === "ping" || f.type === "close");
    // Only ack-eliciting packets are tracked: ACK-only packets are idempotent and never acknowledged,
    // and tracking them would fill the ACK ranges with the gaps their losses leave.
    if (eliciting && !this.received.record(packet.pn, now)) {
      this.counters.duplicatePackets++;
      return;
    }
    // Like TCP restarting TIME_WAIT on a repeated FIN: the peer still waits for our ACKs, so stay
    // until it has been quiet for the whole linger.
    if (eliciting && this.state === "linger") {
      this.stateDeadline = now + this.lingerMs();
      this.finishedDue = this.role === "server";
    }
    for (const f of frames) {
      if (this.state === "closed") return;
      this.applyFrame(f, now);
    }
    this.maybeFinishClose(now);
  }

  private applyFrame(f: Frame, now: number): void {
    switch (f.type) {
      case "ack":
        if ((f.ranges[0] as { high: number }).high >= this.packer.nextPn) {
          this.abortWith(CLOSE_CODE.protocol, "ACK of a packet never sent", "protocol", now);
          return;
        }
        this.recovery.onAck(f.ranges, f.delayUs, now, f.stamp);
        return;
      case "max-data":
        this.peerMaxData = Math.max(this.peerMaxData, f.limit);
        return;
      case "stream": {
        const end = f.offset + f.data.byteLength;
        if (!this.window.allows(end)) {
          this.abortWith(CLOSE_CODE.protocol, "flow-control limit exceeded", "protocol", now);
          return;
        }
        try {
          this.recvStream.push(f.offset, f.data, f.fin);
        } catch (err) {
          this.abortWith(CLOSE_CODE.protocol, (err as Error).message, "protocol", now);
          return;
        }
        this.counters.bytesReceived += f.data.byteLength;
        return;
      }
      case "close":
        if (f.code === CLOSE_CODE.finished && this.recvStream.complete) {
          // The peer closed cleanly after receiving everything: our unacknowledged tail arrived.
          this.peerFinished = true;
          this.state = "closed";
          return;
        }
        this.fail(
          new ConnectionError(
            f.code === CLOSE_CODE.aborted
              ? `the peer aborted: ${f.reason}`
              : `the peer closed the connection: ${f.reason}`,
            "peer-closed",
          ),
        );
        return;
      case "ping":
        return;
    }
  }

  private onPacketAcked(p: SentPacket): void {
    for (const r of p.stream) this.sendStream.onAcked(r.offset, r.length, r.fin);
    if (this.mtu.onAcked(p.pn)) {
      this.pacer.mss = this.mtu.size;
      this.cc.onDatagramSize(this.mtu.size);
    }
  }

  private onPacketLost(p: SentPacket, declared: boolean): void {
    for (const r of p.stream) this.sendStream.onLost(r.offset, r.length, r.fin);
    if (!declared) return;
    if (p.maxData) this.maxDataDue = true;
    this.mtu.onLost(p.pn);
  }

  /** The kernel reported the peer unreachable (ICMP). Fatal only before the handshake completed. */
  unreachable(message: string): void {
    if (this.state === "syn-sent" || this.state === "echo-sent") this.fail(new ConnectionError(message, "refused"));
  }

  // ---- application -------------------------------------------------------------------------

  /** Bytes write() can take before the send buffer is full. */
  get writable(): number {
    // The send buffer holds everything unacknowledged, so it must follow the window the path
    // allows (2·cwnd: a round of loss repair on top of a full pipe), up to the max-window cap.
    const limit = Math.min(
      Math.max(this.config.sendBufferBytes, 2 * this.cc.congestionWindow()),
      Math.max(this.config.sendBufferBytes, this.config.window.max),
    );
    // Whole bytes: cwnd is fractional, and a writer offered 0.3 bytes would spin forever.
    return Math.max(0, Math.floor(limit - this.sendStream.buffered));
  }

  write(data: Uint8Array): void {
    if (this.state === "closed" || this.state === "closing") throw this.error ?? new Error("connection closed");
    this.sendStream.write(data);
  }

  /** No more writes: send FIN after the buffered bytes. */
  end(): void {
    this.sendStream.finish();
  }

  /** Everything written, including FIN, was acknowledged by the peer. */
  get delivered(): boolean {
    return this.sendStream.allAcked || this.peerFinished;
  }

  /** Closed after a complete exchange both ways (LINGER ran out, or the peer said it finished), not by an error. */
  get finishedCleanly(): boolean {
    return this.state === "closed" && (this.lingered || this.peerFinished);
  }

  /** The next packet number (a listener answering for a finished connection continues from it). */
  get nextPacketNumber(): number {
    return this.packer.nextPn;
  }

  read(): Uint8Array | null {
    const chunk = this.recvStream.read();
    if (chunk) this.window.onConsumed(this.recvStream.consumed, this.lastReceived, this.rtt.smoothed);
    return chunk;
  }

  /** Stream bytes held out of order at this receiver (bounded by the flow-control window). */
  get heldBytes(): number {
    return this.recvStream.pendingBytes;
  }

  get readEnded(): boolean {
    return this.recvStream.ended;
  }

  abort(reason: string, now: number): void {
    if (this.state === "closed" || this.state === "closing") return;
    this.abortWith(CLOSE_CODE.aborted, reason, "aborted", now);
  }

  private abortWith(code: number, reason: string, kind: ConnectionError["kind"], now: number): void {
    if (this.state === "syn-sent") {
      this.fail(new ConnectionError(reason, kind));
      return;
    }
    this.closeFrame = { code, reason };
    this.closeDue = true;
    this.error = new ConnectionError(reason, kind);
    this.state = "closing";
    this.stateDeadline = now + 3 * this.ptoBase();
  }

  private fail(err: ConnectionError): void {
    if (this.state === "closed") return;
    this.error = err;
    this.state = "closed";
  }

  // ---- time --------------------------------------------------------------------------------

  // Every check below is written `now >= x + y`, the same sum deadline() returns: `now - x >= y`
  // can round the other way, leaving a deadline due forever that nothing acts on.
  tick(now: number): void {
    if (this.state === "closed") return;
    if ((this.state === "closing" || this.state === "linger") && now >= this.stateDeadline) {
      this.lingered = this.state === "linger";
      this.state = "closed";
      return;
    }
    if (this.state === "syn-sent" || this.state === "echo-sent") {
      if (now >= this.handshakeStarted + this.config.handshakeTimeoutMs) {
        this.fail(new ConnectionError("no answer to the handshake", "handshake-timeout"));
        return;
      }
    } else if (now >= this.lastReceived + this.idleTimeout()) {
      this.fail(new ConnectionError(`no packet from the peer for ${this.idleTimeout()} ms`, "idle-timeout"));
      return;
    }
    this.recovery.onTimer(now, this.ptoActive);
  }

  private ptoBase(): number {
    return this.recovery.ptoBase();
  }

  private get ptoActive(): boolean {
    return this.state === "established" || this.state === "linger";
  }

  /**
   * LINGER lasts 3·PTO, and at least MIN_LINGER_MS: our PTO says nothing of the peer's, which on
   * an asymmetric path (its large packets queue, our small ACKs do not) can be many times longer.
   */
  private lingerMs(): number {
    return Math.max(3 * this.ptoBase(), MIN_LINGER_MS);
  }

  private idleTimeout(): number {
    const peer = this.peerParams?.idleTimeoutMs ?? this.config.idleTimeoutMs;
    return Math.max(Math.min(this.config.idleTimeoutMs, peer), 3 * this.ptoBase());
  }

  /** The next time tick()/poll() must run (ms; Infinity: only on input). */
  deadline(): number {
    if (this.state === "closed") return Number.POSITIVE_INFINITY;
    // CLOSING only waits out its time (poll sends the CLOSE at once): an ACK or loss timer left
    // from before would stay due forever, and the caller would spin on it.
    if (this.state === "closing") return this.stateDeadline;
    const r = this.recovery;
    let d = Math.min(this.stateDeadline, r.lossTime, r.ptoDeadline(this.ptoActive), this.received.ackDeadline);
    if (this.state === "syn-sent" || this.state === "echo-sent")
      d = Math.min(d, this.handshakeDue, this.handshakeStarted + this.config.handshakeTimeoutMs);
    else d = Math.min(d, this.lastReceived + this.idleTimeout());
    if (this.state === "established") {
      if (this.canSendData()) d = Math.min(d, this.nextPacingTime);
      // An idle connection still sends a PING now and then, so a dead peer is noticed and NATs stay open.
      d = Math.min(d, r.lastAckElicitingSent + this.idleTimeout() / 3);
    }
    return d;
  }

  // ---- output ------------------------------------------------------------------------------

  /** Datagrams to send now. Call after receive()/tick()/write(); then wait until deadline(). */
  poll(now: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    switch (this.state) {
      case "closed":
        return out;
      case "syn-sent":
        if (now >= this.handshakeDue) {
          out.push(encodeSyn(this.localCid, this.params));
          this.scheduleHandshakeRetry(now);
        }
        return out;
      case "echo-sent":
        if (now >= this.handshakeDue) {
          out.push(this.packer.echo(now, this.mtu.size, this.localCid, this.cookie as Uint8Array, this.params).bytes);
          this.scheduleHandshakeRetry(now);
        }
        return out;
      case "closing":
        if (this.closeDue && this.closeFrame) {
          this.closeDue = false;
          out.push(this.packer.close(now, this.mtu.size, this.closeFrame).bytes);
        }
        return out;
    }
    this.pollEstablished(now, out);
    if (this.finishedDue) {
      this.finishedDue = false;
      out.push(this.packer.close(now, this.mtu.size, { code: CLOSE_CODE.finished, reason: "" }).bytes);
    }
    return out;
  }

  /**
   * The caller is done with every datagram poll() returned so far (the socket copied them): the
   * next ones reuse their memory (slab.ts).
   */
  recycleDatagrams(): void {
    this.packer.arena.recycle();
  }

  /**
   * Handshake packets are repeated with backoff until answered (or the handshake times out). With no
   * known round trip the first repeat waits 250 ms; with one (a hint or a sample), twice it. A hint
   * only shortens the wait: it is an upper bound (a lost probe lengthens it), so never more than 250 ms.
   */
  private scheduleHandshakeRetry(now: number): void {
    const hint = this.config.rttHintMs;
    const base = this.rtt.hasSample
      ? Math.max(hint === undefined ? HANDSHAKE_REPEAT_MS : HINTED_REPEAT_MIN_MS, 2 * this.rtt.smoothed)
      : hint === undefined
        ? HANDSHAKE_REPEAT_MS
        : Math.min(HANDSHAKE_REPEAT_MS, Math.max(HINTED_REPEAT_MIN_MS, 2 * hint));
    this.handshakeDue = now + Math.min(base * 2 ** this.handshakeAttempts++, 2000);
  }

  private pollEstablished(now: number, out: Uint8Array[]): void {
    const limit = this.window.takeUpdate(this.recvStream.consumed);
    if (limit !== null) this.maxDataDue = true;
    const rate = this.cc.pacingRate();
    let budget = this.pacer.budget(now, rate);
    this.nextPacingTime = Number.POSITIVE_INFINITY;
    const r = this.recovery;
    const size = this.mtu.size;
    for (;;) {
      const ackDue = this.received.ackDue(now) && this.received.hasRanges;
      const probe = r.probesDue > 0;
      const dataAllowed =
        this.canSendData() && (probe || (r.sent.bytesInFlight < this.cc.congestionWindow() && budget >= size));
      const keepalive = !probe && !dataAllowed && this.keepaliveDue(now);
      const mtuProbe = !ackDue && !probe && !dataAllowed ? this.mtu.due : null;
      if (!ackDue && !probe && !dataAllowed && !keepalive && !this.maxDataDue && mtuProbe === null) {
        break;
      }
      let p: Packed;
      if (mtuProbe !== null) {
        p = this.packer.mtuProbe(now, mtuProbe);
        this.mtu.onProbeSent(p.record.pn);
      } else {
        p = this.packer.data(now, size, {
          ack: ackDue,
          data: dataAllowed,
          eliciting: probe || keepalive,
          maxData: this.maxDataDue,
          flowLimit: this.peerMaxData,
          appLimited: this.appLimited,
        });
        this.maxDataDue = false;
        if (p.record.stream.length) this.appLimited = false;
      }
      out.push(p.bytes);
      if (p.record.inFlight) {
        budget -= p.bytes.byteLength;
        this.pacer.onSent(p.bytes.byteLength);
      }
      if (probe) r.probesDue--;
    }
    if (this.canSendData()) {
      if (r.sent.bytesInFlight < this.cc.congestionWindow()) this.nextPacingTime = this.pacer.nextSendTime(size, rate);
    } else if (!this.sendStream.flowBlocked(this.peerMaxData) && !this.appLimited) {
      this.appLimited = true;
      this.cc.onAppLimited(now);
    }
  }

  private canSendData(): boolean {
    return this.sendStream.hasPending(this.peerMaxData);
  }

  private keepaliveDue(now: number): boolean {
    return this.state === "established" && now >= this.recovery.lastAckElicitingSent + this.idleTimeout() / 3;
  }

  // ---- close -------------------------------------------------------------------------------

  /**
   * Both directions finished: linger like TCP's TIME_WAIT so a lost final ACK can be repeated. Only
   * the listener needs to: it tells the dialer so (CLOSE "finished": it holds every byte and FIN
   * the dialer sent), and the dialer, usually the process a user waits for, closes at once instead
   * of lingering too. If that CLOSE is lost the dialer lingers as before; a dialer that retransmits
   * meanwhile is answered with another.
   */
  private maybeFinishClose(now: number): void {
    if (this.state !== "established") return;
    // Unread bytes do not hold the close up: they stay readable after the connection is gone.
    if (this.sendStream.allAcked && this.recvStream.complete) {
      this.state = "linger";
      this.stateDeadline = now + this.lingerMs();
      this.finishedDue = this.role === "server";
    }
  }

  /** Call after the application read to the end (the close may complete then). */
  checkClose(now: number): void {
    this.maybeFinishClose(now);
  }

  // ---- setup -------------------------------------------------------------------------------

  private setPeer(params: TransportParams): void {
    this.peerParams = params;
    this.peerMaxData = Math.max(this.peerMaxData, params.initialMaxData);
    this.mtu.start(Math.min(params.maxDatagram, this.config.maxDatagram));
  }

  private makeController(): CongestionController {
    return createController(this.config.cc, {
      mss: this.mtu.size,
      maxRate: this.config.maxRate,
      initialWindowPackets: INITIAL_WINDOW_PACKETS,
      random: this.config.random,
    });
  }

  stats(): Record<string, number | string> {
    const s = this.recovery.sent;
    const packetsSent = this.packer.packetsSent;
    return {
      state: this.state,
      rttMs: round(this.rtt.smoothed),
      minRttMs: Number.isFinite(this.rtt.min) ? round(this.rtt.min) : 0,
      datagramBytes: this.mtu.size,
      packetsSent,
      packetsReceived: this.counters.packetsReceived,
      lostPackets: s.lostPackets,
      spuriousLosses: s.spuriousLosses,
      lossRate: packetsSent ? round(s.lostPackets / packetsSent, 4) : 0,
      retransmittedBytes: this.sendStream.retransmittedBytes,
      streamBytesSent: this.sendStream.nextNew,
      duplicatePackets: this.counters.duplicatePackets,
      malformedPackets: this.counters.malformed,
      receiveWindowBytes: this.window.window,
      bytesInFlight: s.bytesInFlight,
      ...this.cc.stats(),
    };
  }
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
