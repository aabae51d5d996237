/**
 * The one place session messages meet a transport connection: the sealed one from
 * src/core/secure/, so every frame here travels authenticated and encrypted, on every transport.
 */
import type { StreamConnection } from "../../plugin/api.ts";
import { release } from "../../plugin/owned-chunks.ts";
import { toXferError, XferError } from "../errors.ts";
import { type DecodedPiece, encodeControlFrame, FRAME_HEADER_BYTES, FrameDecoder, type FrameError } from "./frames.ts";
import { ControlMessage, MAX_PAGE_BYTES } from "./messages.ts";
import { checkAccept, checkOfferEntries, checkPageFirst } from "./offer.ts";
import { checkPerFile } from "./per-file.ts";

export type Incoming = { kind: "control"; msg: ControlMessage } | { kind: "data"; bytes: Uint8Array };

const KNOWN_TYPES = new Set(ControlMessage.options.map((o) => o.shape.type.value));
/** Default for how long a session may see no byte move either way before it is declared dead. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/** How often each side says it is alive: cheap (10 bytes), and well inside any sensible idle timeout. */
const PING_EVERY_MS = 5_000;
/**
 * A peer that is heard (pings, unknown messages) but moves nothing is given this many idle timeouts
 * (10 min by default) of our waiting: long enough for it to hash a large resume prefix, short enough
 * that a peer cannot hold a session and its locks forever on keep-alives.
 */
export const NO_PROGRESS_IDLE_TIMEOUTS = 10;

export class SessionChannel {
  private readonly decoder = new FrameDecoder();
  private readonly pending: Incoming[] = [];
  private readonly source: AsyncIterator<Uint8Array>;
  private ended = false;
  /** When next() started waiting for the peer, or null while we are busy with our own work. */
  private waitingSince: number | null = null;
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  /** Time spent waiting for the peer since it last sent something other than a keep-alive. */
  private stalledMs = 0;
  /** Data bytes we sent (frame payloads), and the highest count the peer's `received` claimed. */
  private dataSent = 0;
  private receivedClaim = 0;
  private lastHeardAt = Date.now();
  /** The chunk the pending items came from: its data pieces are views of it. */
  private lastChunk: Uint8Array | null = null;

  /**
   * Both sides ping every PING_EVERY_MS for the whole session, so a live peer is always heard. A peer
   * that vanishes without closing (a network blackout, a machine that lost power) is declared dead
   * after `idleTimeoutMs` of waiting for it in vain, not after TCP's ~15 minutes of retransmissions.
   * Time spent on our own work (a slow disk) never counts. 0 disables the check.
   */
  constructor(
    private readonly conn: StreamConnection,
    idleTimeoutMs = DEFAULT_IDLE_TIMEOUT_MS,
  ) {
    this.source = conn.readable[Symbol.asyncIterator]();
    this.timers.push(setInterval(() => void this.send({ type: "ping" }).catch(() => {}), PING_EVERY_MS));
    if (idleTimeoutMs > 0) {
      this.timers.push(
        setInterval(
          () => {
            const waited = this.waitingSince === null ? 0 : Date.now() - this.waitingSince;
            if (waited > idleTimeoutMs) {
              this.stopTimers();
              const seconds = Math.round(idleTimeoutMs / 1000);
              conn.destroy(new XferError("timeout", `the peer went silent: nothing received for ${seconds}s`));
            } else if (this.stalledMs + waited > idleTimeoutMs * NO_PROGRESS_IDLE_TIMEOUTS) {
              this.stopTimers();
              const seconds = Math.round((idleTimeoutMs * NO_PROGRESS_IDLE_TIMEOUTS) / 1000);
              conn.destroy(
                new XferError(
                  "timeout",
                  `the peer made no progress for ${seconds}s (it only kept the connection alive)`,
                ),
              );
            }
          },
          Math.min(1000, idleTimeoutMs),
        ),
      );
    }
    for (const t of this.timers) (t as { unref?: () => void }).unref?.();
  }

  get remote(): string {
    return this.conn.remote;
  }

  /** How long since anything (a keep-alive included) arrived from the peer. */
  silentForMs(): number {
    return Date.now() - this.lastHeardAt;
  }

  async send(msg: ControlMessage): Promise<void> {
    await this.write(encodeControlFrame(JSON.stringify(msg)));
  }

  /** A control message already encoded as a frame (one too large to build as objects first: a huge accept). */
  async sendFrame(frame: Uint8Array): Promise<void> {
    await this.write(frame);
  }

  /**
   * Several messages and data frames in one write (one record): a small file's start, data and end,
   * or a batch of verdicts. Data frames come from allocDataFrame(); data among them is progress, as
   * in sendDataFrame().
   */
  async sendAll(items: readonly (ControlMessage | Uint8Array)[]): Promise<void> {
    const frames = items.map((m) => (m instanceof Uint8Array ? m : encodeControlFrame(JSON.stringify(m))));
    await this.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
    for (const m of items)
      if (m instanceof Uint8Array) {
        this.dataSent += m.byteLength - FRAME_HEADER_BYTES;
        this.stalledMs = 0;
      }
  }

  /**
   * `frame` comes from allocDataFrame(); ownership passes to the transport. Data the transport took
   * is progress too: the peer is reading (flow control would hold the write otherwise), even if all
   * we hear from it meanwhile is keep-alives.
   */
  async sendDataFrame(frame: Uint8Array): Promise<void> {
    await this.write(frame);
    this.dataSent += frame.byteLength - FRAME_HEADER_BYTES;
    this.stalledMs = 0;
  }

  /**
   * Next message or data piece; null when the peer closed cleanly at a frame boundary. A data
   * piece's bytes are valid until the following call of next() or expect(): the chunk they are a
   * view of is then released (src/plugin/owned-chunks.ts), so a caller that keeps them copies them.
   */
  async next(): Promise<Incoming | null> {
    while (this.pending.length === 0) {
      if (this.lastChunk) release(this.lastChunk);
      this.lastChunk = null;
      if (this.ended) return null;
      let chunk: IteratorResult<Uint8Array>;
      const since = Date.now();
      this.waitingSince = since;
      try {
        chunk = await this.source.next();
      } catch (err) {
        this.stopTimers();
        throw peerError(err);
      } finally {
        this.waitingSince = null;
      }
      this.stalledMs += Date.now() - since;
      this.lastHeardAt = Date.now();
      if (chunk.done) {
        this.ended = true;
        if (!this.decoder.atBoundary) throw new XferError("peer-gone", "peer closed the connection mid-message");
        continue;
      }
      this.lastChunk = chunk.value;
      let pieces: DecodedPiece[];
      try {
        pieces = this.decoder.push(chunk.value);
      } catch (err) {
        throw new XferError("protocol", `malformed frame from peer: ${(err as FrameError).message}`);
      }
      for (const piece of pieces) {
        const item = piece.kind === "data" ? piece : parseControl(piece.json);
        if (item && !(item.kind === "control" && item.msg.type === "ping")) {
          this.pending.push(item);
          if (this.isProgress(item)) this.stalledMs = 0;
        }
      }
    }
    return this.pending.shift()!;
  }

  /**
   * A `received` count is progress only when it grows and stays within what we sent: the bytes still
   * in the network's buffers after our last write arrive while we only wait, and a peer cannot keep
   * us forever by repeating (or inventing) a count.
   */
  private isProgress(item: Incoming): boolean {
    if (item.kind !== "control" || item.msg.type !== "received") return true;
    const claim = item.msg.bytes;
    if (claim <= this.receivedClaim || claim > this.dataSent) return false;
    this.receivedClaim = claim;
    return true;
  }

  /** Items already read and decoded: next() returns one without waiting for the network. */
  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** Like next(), but a clean close is an error: used where the protocol expects more. */
  async expect(): Promise<Incoming> {
    const item = await this.next();
    if (!item) throw new XferError("peer-gone", "peer closed the connection early");
    return item;
  }

  async end(): Promise<void> {
    this.stopTimers();
    try {
      await this.conn.end();
    } catch (err) {
      throw peerError(err);
    }
  }

  destroy(reason?: Error): void {
    this.stopTimers();
    this.conn.destroy(reason);
  }

  private stopTimers(): void {
    for (const t of this.timers) clearInterval(t);
  }

  private async write(bytes: Uint8Array): Promise<void> {
    try {
      await this.conn.write(bytes);
    } catch (err) {
      throw peerError(err);
    }
  }
}

function parseControl(json: string): Incoming | null {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new XferError("protocol", "peer sent a control frame that is not JSON");
  }
  const type = (raw as { type?: unknown } | null)?.type;
  // A message type from a newer peer that we do not know is skipped, not fatal.
  if (typeof type === "string" && !KNOWN_TYPES.has(type as ControlMessage["type"])) return null;
  if (type === "offer-page") {
    // Measured on the text first: a page is small whatever the tree, so the receiver's memory is too.
    if (json.length > MAX_PAGE_BYTES || Buffer.byteLength(json) > MAX_PAGE_BYTES)
      throw new XferError("protocol", `invalid 'offer-page' message from peer: more than ${MAX_PAGE_BYTES} bytes`);
    const page = raw as { first?: unknown; entries?: unknown };
    const first = checkPageFirst(page.first);
    if (first === null) throw new XferError("protocol", "invalid 'offer-page' message from peer: first invalid");
    const checked = checkOfferEntries(page.entries);
    if ("problem" in checked)
      throw new XferError("protocol", `invalid 'offer-page' message from peer: ${checked.problem}`);
    return { kind: "control", msg: { type: "offer-page", first, entries: checked.entries } };
  }
  if (type === "accept") {
    const checked = checkAccept(raw as Record<string, unknown>);
    if ("problem" in checked) throw new XferError("protocol", `invalid 'accept' message from peer: ${checked.problem}`);
    return { kind: "control", msg: { type: "accept", ...checked } };
  }
  const perFile = raw !== null && typeof raw === "object" ? checkPerFile(raw as Record<string, unknown>) : null;
  if (perFile) return { kind: "control", msg: perFile };
  const parsed = ControlMessage.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new XferError(
      "protocol",
      `invalid '${String(type)}' message from peer: ${issue?.path.join(".")} ${issue?.message}`,
    );
  }
  return { kind: "control", msg: parsed.data };
}

function peerError(err: unknown): XferError {
  const e = toXferError(err, "connection");
  return e.code === "internal" ? new XferError("peer-gone", `connection lost: ${e.message}`, { cause: err }) : e;
}
