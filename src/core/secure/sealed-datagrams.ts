/**
 * The handshake over a datagram transport, then a DatagramConnection that seals every datagram
 * (docs/PROTOCOL.md §3.5). Handshake datagrams are cleartext, repeated until answered, and padded
 * so that no reply is larger than what asked for it: a forged source gains no amplification.
 */
import { AsyncQueue, type DatagramConnection } from "../../plugin/api.ts";
import { XferError } from "../errors.ts";
import { DatagramOpener, DatagramSealer, SEALED_KIND, SEALED_OVERHEAD } from "./datagram-seal.ts";
import {
  HandshakeMessage,
  InitiatorHandshake,
  ResponderHandshake,
  type SessionKeys,
  WRONG_CODE_MESSAGE,
} from "./handshake.ts";
import type { SecureOptions } from "./stream-handshake.ts";
import { AUTH_TIMEOUT_MS } from "./stream-handshake.ts";

/** First byte of a cleartext handshake datagram. */
export const HANDSHAKE_KIND = 5;
/** Every handshake datagram is padded to this size: a reply is never bigger than its request. */
export const HANDSHAKE_DATAGRAM_BYTES = 400;
const RETRY_MS = 250;

export function encodeHandshake(msg: HandshakeMessage): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(msg));
  const out = new Uint8Array(Math.max(HANDSHAKE_DATAGRAM_BYTES, 3 + body.byteLength));
  out[0] = HANDSHAKE_KIND;
  new DataView(out.buffer).setUint16(1, body.byteLength);
  out.set(body, 3);
  return out;
}

export function decodeHandshake(d: Uint8Array): HandshakeMessage | null {
  if (d.byteLength < HANDSHAKE_DATAGRAM_BYTES || d[0] !== HANDSHAKE_KIND) return null;
  const length = new DataView(d.buffer, d.byteOffset).getUint16(1);
  if (3 + length > d.byteLength) return null;
  try {
    const parsed = HandshakeMessage.safeParse(JSON.parse(new TextDecoder().decode(d.subarray(3, 3 + length))));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Authenticate over `conn`; resolves with the sealed connection (receiver: once the sender proved the code). */
export async function secureDatagrams(conn: DatagramConnection, opts: SecureOptions): Promise<SealedDatagrams> {
  const sealed = new SealedDatagrams(conn);
  if (opts.role === "sender") {
    const hs = new InitiatorHandshake(opts.code, opts.ctx);
    const request = encodeHandshake(hs.first);
    const deadline = Date.now() + AUTH_TIMEOUT_MS;
    for (;;) {
      if (Date.now() > deadline) {
        sealed.close();
        throw new XferError("timeout", `no answer to the handshake within ${AUTH_TIMEOUT_MS / 1000} s`);
      }
      await conn.send([request]);
      const reply = await sealed.nextHandshake(RETRY_MS);
      if (!reply) continue;
      if (reply.type === "auth-failed") {
        sealed.close();
        throw new XferError("auth", `receiver: ${reply.message}`);
      }
      if (reply.type !== "pake-reply") continue;
      try {
        sealed.start(hs.onReply(reply).keys);
      } catch (err) {
        const refusal = encodeHandshake({ type: "auth-failed", message: WRONG_CODE_MESSAGE });
        await conn.send([refusal, refusal, refusal]).catch(() => {});
        sealed.close();
        throw err;
      }
      return sealed;
    }
  }
  const hs = new ResponderHandshake(opts.code, opts.ctx);
  const first = await sealed.nextHandshake(AUTH_TIMEOUT_MS);
  if (first?.type !== "pake") {
    sealed.close();
    throw new XferError("timeout", `the peer did not authenticate within ${AUTH_TIMEOUT_MS / 1000} s`);
  }
  try {
    opts.attempts?.admit();
  } catch (err) {
    await conn.send([encodeHandshake({ type: "auth-failed", message: (err as Error).message })]).catch(() => {});
    sealed.close();
    throw err;
  }
  const reply = encodeHandshake(hs.onPake(first));
  await conn.send([reply]);
  sealed.start(hs.keys());
  try {
    await sealed.confirmation(AUTH_TIMEOUT_MS, (msg) => {
      if (msg.type === "pake") {
        hs.onPake(msg);
        void conn.send([reply]).catch(() => {});
      }
      if (msg.type === "auth-failed") throw new XferError("auth", WRONG_CODE_MESSAGE);
    });
  } catch (err) {
    opts.attempts?.failed();
    sealed.close();
    throw err;
  }
  return sealed;
}

/**
 * One reader of the transport's datagrams: handshake datagrams go to the handshake, sealed ones are
 * opened (dropping forgeries and replays) and queued for the session above.
 */
export class SealedDatagrams implements DatagramConnection {
  private sealer: DatagramSealer | null = null;
  private opener: DatagramOpener | null = null;
  private readonly handshakes: HandshakeMessage[] = [];
  private readonly opened = new AsyncQueue<Uint8Array>();
  private wake: (() => void) | null = null;
  private ended = false;
  private onHandshake: ((msg: HandshakeMessage) => unknown) | null = null;
  private failure: unknown = null;

  constructor(private readonly inner: DatagramConnection) {
    void this.pump();
  }

  get remote(): string {
    return this.inner.remote;
  }

  get maxDatagramSize(): number {
    return this.inner.maxDatagramSize - SEALED_OVERHEAD;
  }

  /** Datagrams dropped because they failed authentication, or were replays. */
  get dropped(): { forged: number; replayed: number } {
    return { forged: this.opener?.forged ?? 0, replayed: this.opener?.replayed ?? 0 };
  }

  start(keys: SessionKeys): void {
    this.sealer = new DatagramSealer(keys.send);
    this.opener = new DatagramOpener(keys.receive);
  }

  async send(datagrams: readonly Uint8Array[]): Promise<void> {
    const sealer = this.sealer;
    if (!sealer) throw new Error("send before the handshake finished");
    await this.inner.send(datagrams.map((d) => sealer.seal(d)));
  }

  get datagrams(): AsyncIterable<Uint8Array> {
    return this.opened;
  }

  close(): void {
    this.inner.close();
  }

  async nextHandshake(timeoutMs: number): Promise<HandshakeMessage | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.handshakes.length === 0 && !this.ended && Date.now() < deadline)
      await this.sleep(deadline - Date.now());
    return this.handshakes.shift() ?? null;
  }

  /** Resolves at the first datagram that opens; `handle` answers handshake repeats meanwhile. */
  async confirmation(timeoutMs: number, handle: (msg: HandshakeMessage) => unknown): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    this.onHandshake = (msg) => {
      try {
        handle(msg);
      } catch (err) {
        this.failure = err;
        this.wake?.();
      }
    };
    for (const msg of this.handshakes.splice(0)) this.onHandshake(msg);
    try {
      while (this.opened.length === 0) {
        if (this.failure) throw this.failure;
        if (this.ended) throw new XferError("peer-gone", "the peer left during the handshake");
        if (Date.now() >= deadline)
          throw new XferError("timeout", `the peer did not authenticate within ${timeoutMs / 1000} s`);
        await this.sleep(deadline - Date.now());
      }
    } finally {
      this.onHandshake = null;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async pump(): Promise<void> {
    try {
      for await (const d of this.inner.datagrams) {
        if (d[0] === SEALED_KIND) {
          const plain = this.opener?.open(d);
          if (!plain) continue;
          this.opened.push(plain);
        } else {
          const msg = decodeHandshake(d);
          if (!msg) continue;
          if (this.onHandshake) this.onHandshake(msg);
          else if (!this.opener) this.handshakes.push(msg);
          else continue;
        }
        this.wake?.();
      }
    } finally {
      this.ended = true;
      this.opened.end();
      this.wake?.();
    }
  }
}
