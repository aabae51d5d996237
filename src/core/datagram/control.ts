/**
 * Control over a lossy path: a request is sent again every RETRY_MS until a matching reply
 * arrives or the deadline passes. The datagram reader is shared: one loop hands every datagram to
 * whoever waits for it.
 */
import type { DatagramConnection } from "../../plugin/api.ts";
import { XferError } from "../errors.ts";
import { type ControlDatagram, type DataDatagram, decode, encodeControl, type ParityDatagram } from "./codec.ts";
import { type DgMessage, parseDgMessage } from "./messages.ts";

export const RETRY_MS = 250;
/** Control messages being reassembled at once, at most (older partial ones are dropped). */
const MAX_PARTIAL = 8;

/** What the inbox hands out: data datagrams, and control messages once all their fragments arrived. */
export type Received = DataDatagram | ParityDatagram | { kind: "control"; session: number; json: string };

export class DatagramInbox {
  private readonly queue: Received[] = [];
  private readonly partial = new Map<number, { parts: (Uint8Array | undefined)[]; left: number }>();
  private wake: (() => void) | null = null;
  private ended = false;
  malformed = 0;

  constructor(conn: DatagramConnection) {
    void (async () => {
      try {
        for await (const d of conn.datagrams) {
          const parsed = decode(d);
          if (!parsed) {
            this.malformed++;
            continue;
          }
          const item = parsed.kind === "control" ? this.assemble(parsed) : parsed;
          if (!item) continue;
          this.queue.push(item);
          this.wake?.();
        }
      } finally {
        this.ended = true;
        this.wake?.();
      }
    })();
  }

  private assemble(f: ControlDatagram): Received | null {
    const text = (parts: Uint8Array[]) => new TextDecoder().decode(Buffer.concat(parts));
    if (f.count === 1) return { kind: "control", session: f.session, json: text([f.bytes]) };
    let p = this.partial.get(f.message);
    if (!p) {
      if (this.partial.size >= MAX_PARTIAL) this.partial.delete(this.partial.keys().next().value as number);
      p = { parts: new Array(f.count), left: f.count };
      this.partial.set(f.message, p);
    }
    if (p.parts.length !== f.count || p.parts[f.index]) return null;
    p.parts[f.index] = f.bytes.slice();
    if (--p.left > 0) return null;
    this.partial.delete(f.message);
    return { kind: "control", session: f.session, json: text(p.parts as Uint8Array[]) };
  }

  /** The next datagram, or null after `timeoutMs` (or when the connection closed). */
  async next(timeoutMs: number): Promise<Received | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      if (this.ended) return null;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.wake = null;
    }
    return this.queue.shift() ?? null;
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
      if (!d || d.kind !== "control" || d.session !== session) continue;
      const msg = parseDgMessage(d.json);
      if (msg && (replies as readonly string[]).includes(msg.type)) return msg as Extract<DgMessage, { type: T }>;
    }
  }
  throw new XferError("timeout", `no answer to ${what} within ${timeoutMs / 1000} s (the path may drop everything)`);
}
