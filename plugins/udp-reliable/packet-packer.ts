/**
 * Packet assembly (quic-go's packet packer): every datagram this side sends is built here, given a
 * packet number, recorded with loss recovery and counted, in one place. What goes in a DATA packet
 * is the caller's decision (ACK due? data allowed? must it elicit an ACK?); how it is laid out —
 * ACK first, MAX_DATA beside it, stream frames filling the rest — is this file's.
 */
import type { ReceiveWindow } from "./flow-control.ts";
import type { LossRecovery } from "./loss-recovery.ts";
import { MAX_ACK_FRAME_RANGES, type ReceivedPackets } from "./received-packets.ts";
import type { SendStream } from "./send-stream.ts";
import type { SentPacket } from "./sent-packets.ts";
import { DatagramArena } from "./slab.ts";
import {
  FRAME,
  streamFrameOverhead,
  writeAckFrame,
  writeCloseFrame,
  writeMaxDataFrame,
  writeStreamHeader,
} from "./wire/frames.ts";
import { type PacketWriter, startData, startEcho, type TransportParams } from "./wire/packet.ts";

export interface PackerSources {
  received: ReceivedPackets;
  window: ReceiveWindow;
  sendStream: SendStream;
  recovery: LossRecovery;
}

export interface DataPacketPlan {
  /** Put an ACK frame in (and MAX_DATA beside it). */
  ack: boolean;
  /** Fill the room with stream data. */
  data: boolean;
  /** It must elicit an ACK (a probe, a keepalive): a PING when nothing else does. */
  eliciting: boolean;
  /** A fresh flow-control grant is owed: MAX_DATA, in a packet whose loss is detected. */
  maxData: boolean;
  /** The peer's flow-control limit on our stream. */
  flowLimit: number;
  /** Stamped on the record: the sender had run out of data before this packet. */
  appLimited: boolean;
}

export interface Packed {
  bytes: Uint8Array;
  record: SentPacket;
}

export class PacketPacker {
  nextPn = 0;
  packetsSent = 0;
  bytesSent = 0;
  /** Where every datagram's bytes live until the socket takes them (see slab.ts). */
  readonly arena = new DatagramArena();

  constructor(
    private readonly s: PackerSources,
    public remoteCid: Uint8Array,
  ) {}

  data(now: number, size: number, plan: DataPacketPlan): Packed {
    const w = startData(this.arena.allocate(size), this.remoteCid, this.nextPn);
    const record = this.newRecord(now, plan.appLimited);
    if (plan.ack) {
      // Ranges are repeated in every ACK (ACK loss is harmless); they take at most half the room.
      const r = this.s.received;
      const room = Math.floor(w.room / 2);
      w.at = writeAckFrame(w.view, w.at, r.ackRanges(), r.ackDelayUs(now), r.ackStamp(now), room, MAX_ACK_FRAME_RANGES);
      r.onAckSent();
    }
    if (plan.ack || plan.maxData) w.at = writeMaxDataFrame(w.view, w.at, this.s.window.limit);
    record.maxData = plan.maxData;
    if (plan.data) this.fillStream(w, record, plan.flowLimit);
    if ((plan.eliciting || plan.maxData) && !record.ackEliciting) {
      w.u8(FRAME.ping);
      record.ackEliciting = true;
    }
    return this.finish(this.arena.shrinkLast(w.bytes, w.at), record, now);
  }

  echo(now: number, size: number, localCid: Uint8Array, cookie: Uint8Array, params: TransportParams): Packed {
    const w = startEcho(this.arena.allocate(size), this.remoteCid, localCid, this.nextPn, cookie, params);
    w.u8(FRAME.ping);
    const record = this.newRecord(now, false);
    record.ackEliciting = true;
    return this.finish(this.arena.shrinkLast(w.bytes, w.at), record, now);
  }

  /** A PING padded to `size`: not in flight, since a lost probe says nothing about congestion. */
  mtuProbe(now: number, size: number): Packed {
    const w = startData(this.arena.allocate(size), this.remoteCid, this.nextPn);
    w.u8(FRAME.ping);
    w.bytes.fill(FRAME.padding, w.at, size); // a reused slab is not zeroed
    w.at = size;
    const record = this.newRecord(now, false);
    record.ackEliciting = true;
    return this.finish(w.done(), record, now, false);
  }

  /** A CLOSE (abort, or "finished" from LINGER): recorded like any packet, never resent. */
  close(now: number, size: number, frame: { code: number; reason: string }): Packed {
    const w = startData(this.arena.allocate(size), this.remoteCid, this.nextPn);
    const record = this.newRecord(now, false);
    w.at = writeCloseFrame(w.view, w.at, frame.code, frame.reason);
    return this.finish(this.arena.shrinkLast(w.bytes, w.at), record, now);
  }

  private fillStream(w: PacketWriter, record: SentPacket, flowLimit: number): void {
    const stream = this.s.sendStream;
    for (;;) {
      const room = w.room - streamFrameOverhead(stream.written + 1, w.room);
      if (room <= 0) return;
      const r = stream.nextRange(room, flowLimit);
      if (!r) return;
      w.at = writeStreamHeader(w.view, w.at, r.offset, r.length, r.fin);
      // Stream bytes go straight from the send buffer into the datagram.
      stream.copy(r.offset, r.length, w.bytes.subarray(w.at, w.at + r.length));
      w.at += r.length;
      record.stream.push({ offset: r.offset, length: r.length, fin: r.fin });
      record.ackEliciting = true;
      if (r.length === 0 || w.room < 64) return;
    }
  }

  private newRecord(now: number, appLimited: boolean): SentPacket {
    return {
      pn: this.nextPn++,
      sentAt: now,
      bytes: 0,
      ackEliciting: false,
      inFlight: false,
      stream: [],
      maxData: false,
      deliveredAtSend: 0,
      deliveredTimeAtSend: 0,
      firstSentTimeAtSend: 0,
      appLimitedAtSend: appLimited,
      state: "sent",
      ackedRunLow: 0,
    };
  }

  /** Ack-eliciting packets count in flight unless `inFlight` says otherwise (MTU probes). */
  private finish(bytes: Uint8Array, record: SentPacket, now: number, inFlight = record.ackEliciting): Packed {
    record.bytes = bytes.byteLength;
    record.inFlight = inFlight;
    this.s.recovery.onPacketSent(record, now);
    this.packetsSent++;
    this.bytesSent += bytes.byteLength;
    return { bytes, record };
  }
}
