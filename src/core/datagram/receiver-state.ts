/**
 * The receiving side of a datagram session without I/O: which datagram opens the session, which
 * are new data to place (and which parity rebuilds), when an answer is repeated, when the loss
 * report is due and how often it may be repeated, and how long to wait for the next datagram.
 * It takes datagrams and returns what to do; receiver.ts opens, writes, verifies and sends.
 */
import type { Received } from "./control.ts";
import { decodeUnit, encodeUnit, FecDecoder, PLACEMENT_BYTES } from "./fec.ts";
import { type DgMessage, parseDgMessage } from "./messages.ts";
import { type Coverage, Tally } from "./tally.ts";

/** A sender that moves nothing this long mid-transfer has gone (datagrams that place nothing new do not count). */
export const IDLE_MS = 30_000;
/** After answering END, keep answering repeats this long (the report may be lost); repeats do not extend it. */
export const LINGER_MS = 2_000;
/** Answers to repeated ENDs, at most: the report can be large, and a loop of repeats must not make us a firehose. */
export const MAX_REPORT_REPEATS = 20;

export type DgOfferMessage = Extract<DgMessage, { type: "dg-offer" }>;
export type DgEndMessage = Extract<DgMessage, { type: "dg-end" }>;

export type ReceiverAction =
  /** The session's first offer: check it, lock its paths, open its files, then call accepted(). */
  | { do: "accept"; offer: DgOfferMessage }
  /** Write these bytes where they belong, then call placed(). */
  | { do: "place"; file: number; offset: number; payload: Uint8Array }
  /** The first END: verify what is complete, keep the rest, then call reported(). */
  | { do: "finish"; end: DgEndMessage }
  /** Send our last answer (the accept, or the report) again. */
  | { do: "resend" };

export class DatagramReceiverState {
  /** The session id, fixed by the first offer. */
  session: number | null = null;
  /** Bytes of each file still expected, filled by the I/O side when it accepts. */
  readonly coverage = new Map<number, Coverage>();
  readonly tally = new Tally();
  private fec: FecDecoder | null = null;
  private unitSize = 0;
  private phase: "offered" | "accepted" | "reported" | null = null;
  private lastProgress: number;
  private lingerUntil = 0;
  private reportsSent = 0;

  constructor(now: number) {
    this.lastProgress = now;
  }

  /** How long to wait for the next datagram before `expired()`. */
  waitMs(now: number): number {
    return this.phase === "reported" ? this.lingerUntil - now : this.lastProgress + IDLE_MS - now;
  }

  /** True once the report went out: the session ends well when the linger runs out. */
  get reported(): boolean {
    return this.phase === "reported";
  }

  onDatagram(d: Received, now: number): ReceiverAction[] {
    if (this.session === null) {
      if (d.kind !== "control") return [];
      const msg = parseDgMessage(d.json);
      if (msg?.type !== "dg-offer") return [];
      this.session = d.session;
      this.phase = "offered";
      this.lastProgress = now;
      if (msg.fec) {
        this.fec = new FecDecoder(msg.fec);
        this.unitSize = PLACEMENT_BYTES + msg.chunk;
      }
      return [{ do: "accept", offer: msg }];
    }
    if (d.session !== this.session) return [];
    if (d.kind === "data") {
      if (this.phase !== "accepted" || !this.tally.record(d.seq, d.intact)) return [];
      const actions: ReceiverAction[] = [{ do: "place", file: d.file, offset: d.offset, payload: d.payload }];
      if (this.fec)
        actions.push(
          ...this.rebuilt(this.fec.addData(d.seq, encodeUnit(d.file, d.offset, d.payload, this.unitSize), null)),
        );
      return actions;
    }
    if (d.kind === "parity") {
      if (!this.fec || this.phase !== "accepted" || !d.intact || d.unit.byteLength !== this.unitSize) return [];
      return this.rebuilt(this.fec.addParity(d.block, d.cls, d.unit, null));
    }
    const msg = parseDgMessage(d.json);
    if (msg?.type === "dg-offer") return this.phase === "accepted" ? [{ do: "resend" }] : [];
    if (msg?.type !== "dg-end" || this.phase === "offered") return [];
    if (this.phase === "accepted") {
      const last = this.fec ? this.rebuilt(this.fec.recoverAll(msg.datagrams)) : [];
      return [...last, { do: "finish", end: msg }];
    }
    if (this.reportsSent >= MAX_REPORT_REPEATS) return [];
    this.reportsSent++;
    return [{ do: "resend" }];
  }

  /** The offer was accepted and its files opened; data may be placed from now on. */
  accepted(): void {
    this.phase = "accepted";
  }

  /** Bytes were written: that is progress, and they are no longer missing. */
  placed(file: number, offset: number, length: number, now: number): void {
    this.lastProgress = now;
    this.coverage.get(file)?.add(offset, offset + length);
  }

  /** The report is ready and goes out now; repeated ENDs get it again during the linger. */
  reportReady(now: number): void {
    this.phase = "reported";
    this.lingerUntil = now + LINGER_MS;
    this.reportsSent = 1;
  }

  private rebuilt(units: { seq: number; unit: Uint8Array }[]): ReceiverAction[] {
    const out: ReceiverAction[] = [];
    for (const r of units) {
      const u = decodeUnit(r.unit);
      if (u && this.tally.recover(r.seq)) out.push({ do: "place", file: u.file, offset: u.offset, payload: u.payload });
    }
    return out;
  }
}
