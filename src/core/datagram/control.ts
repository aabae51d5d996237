/**
 * Control over a lossy path: a request is sent again every RETRY_MS until a matching reply
 * arrives or the deadline passes. The datagram reader is shared: one loop hands every datagram to
 * whoever waits for it.
 */
import { AsyncQueue, type DatagramConnection } from "../../plugin/api.ts";
import { XferError } from "../errors.ts";
import { type ControlDatagram, type DataDatagram, decode, encodeControl, type ParityDatagram } from "./codec.ts";
import { type DgMessage, parseDgMessage } from "./messages.ts";

export const RETRY_MS = 250;
/** Control messages being reassembled at once, at most (older partial ones are dropped). */
const MAX_PARTIAL = 8;
/** Bytes held for messages being reassembled, all together: a peer's fragments cannot grow it further. */
const MAX_PARTIAL_BYTES = 16 << 20;
/**
 * Datagrams waiting for the session, at most. When the session (its disk) is behind, later ones are
 * dropped, as the socket buffer would drop them, instead of piling up in memory.
 */
const MAX_QUEUED = 8192;

/** What the inbox hands out: data datagrams, and control messages once all their fragments arrived. */
export type Received = DataDatagram | ParityDatagram | { kind: "control"; session: number; json: string };

export class DatagramInbox {
  private readonly queue = new AsyncQueue<Received>({ maxItems: MAX_QUEUED });
  private readonly partial = new Map<number, { parts: (Uint8Array | undefined)[]; left: number; bytes: number }>();
  private partialBytes = 0;
  malformed = 0;
  private lastHeardAt = Date.now();

  constructor(conn: DatagramConnection) {
    void (async () => {
      try {
        for await (const d of conn.datagrams) {
          this.lastHeardAt = Date.now();
          const parsed = decode(d);
          if (!parsed) {
            this.malformed++;
            continue;
          }
          const item = parsed.kind === "control" ? this.assemble(parsed) : parsed;
          if (item) this.queue.push(item);
        }
      } finally {
        this.queue.end();
      }
    })();
  }

  private assemble(f: ControlDatagram): Received | null {
    const text = (parts: Uint8Array[]) => new TextDecoder().decode(Buffer.concat(parts));
    if (f.count === 1) return { kind: "control", session: f.session, json: text([f.bytes]) };
    let p = this.partial.get(f.message);
    if (!p) {
      if (this.partial.size >= MAX_PARTIAL) this.forget(this.partial.keys().next().value as number);
      p = { parts: new Array(f.count), left: f.count, bytes: 0 };
      this.partial.set(f.message, p);
    }
    if (p.parts.length !== f.count || p.parts[f.index]) return null;
    // Over budget: the oldest partial messages go first, then this fragment if it still does not fit.
    while (this.partialBytes + f.bytes.byteLength > MAX_PARTIAL_BYTES && this.partial.size > 1) {
      const oldest = this.partial.keys().next().value as number;
      if (oldest === f.message) break;
      this.forget(oldest);
    }
    if (this.partialBytes + f.bytes.byteLength > MAX_PARTIAL_BYTES) return null;
    p.parts[f.index] = f.bytes.slice();
    p.bytes += f.bytes.byteLength;
    this.partialBytes += f.bytes.byteLength;
    if (--p.left > 0) return null;
    this.forget(f.message);
    return { kind: "control", session: f.session, json: text(p.parts as Uint8Array[]) };
  }

  /** How long since any datagram arrived. */
  silentForMs(): number {
    return Date.now() - this.lastHeardAt;
  }

  private forget(message: number): void {
    const p = this.partial.get(message);
    if (!p) return;
    this.partialBytes -= p.bytes;
    this.partial.delete(message);
  }

  /** The next datagram, or null after `timeoutMs` (or when the connection closed). */
  next(timeoutMs: number): Promise<Received | null> {
    return this.queue.next(timeoutMs);
  }
}

/** Send `request` until a control reply of one of `replies` for `session` arrives; throws on timeout. */
export async function exchange<T extends DgMessage["type"]>(
  conn: DatagramConnection,
  inbox: DatagramInbox,
  session: number,
  request: DgMessage,
  replies: readonly T[],
  timeoutMs: number,
  what: string,
): Promise<Extract<DgMessage, { type: T }>> {
  const deadline = Date.now() + timeoutMs;
  const datagrams = encodeControl(session, request, conn.maxDatagramSize);
  while (Date.now() < deadline) {
    await conn.send(datagrams);
    const until = Math.min(deadline, Date.now() + RETRY_MS);
    while (Date.now() < until) {
      const d = await inbox.next(until - Date.now());
      if (d?.kind !== "control" || d.session !== session) continue;
      const msg = parseDgMessage(d.json);
      if (msg && (replies as readonly string[]).includes(msg.type)) return msg as Extract<DgMessage, { type: T }>;
    }
  }
  throw new XferError("timeout", `no answer to ${what} within ${timeoutMs / 1000} s (the path may drop everything)`);
}
