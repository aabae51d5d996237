/**
 * Control over a lossy path: a request is sent again every RETRY_MS until a matching reply
 * arrives or the deadline passes. The datagram reader is shared: one loop hands every datagram to
 * whoever waits for it.
 */
import type { DatagramConnection } from "../../plugin/api.ts";
import { XferError } from "../errors.ts";
import { decode, encodeControl, type SessionDatagram } from "./codec.ts";
import { type DgMessage, parseDgMessage } from "./messages.ts";

export const RETRY_MS = 250;

export class DatagramInbox {
  private readonly queue: SessionDatagram[] = [];
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
          this.queue.push(parsed);
          this.wake?.();
        }
      } finally {
        this.ended = true;
        this.wake?.();
      }
    })();
  }

  /** The next datagram, or null after `timeoutMs` (or when the connection closed). */
  async next(timeoutMs: number): Promise<SessionDatagram | null> {
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
  const bytes = encodeControl(session, request);
  while (Date.now() < deadline) {
    await conn.send([bytes]);
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
