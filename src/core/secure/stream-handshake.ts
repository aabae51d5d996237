/**
 * The handshake over a stream transport, then the sealed stream every session frame travels in
 * (docs/PROTOCOL.md §1.0 and §1.5). Before authentication a peer may send only small handshake
 * frames, and must finish within a few seconds; nothing about the receiver is revealed.
 */
import type { StreamConnection } from "../../plugin/api.ts";
import { release } from "../../plugin/owned-chunks.ts";
import { waitAtMost } from "../bounded.ts";
import { toXferError, XferError } from "../errors.ts";
import { GarbageReclaimer } from "../memory.ts";
import { encodeControlFrame, FRAME_HEADER_BYTES, FrameType } from "../protocol/frames.ts";
import { PROTOCOL_NAME, SESSION_PROTOCOL_VERSION } from "../protocol/messages.ts";
import { type FillLimits, StreamPrefix } from "../protocol/stream-prefix.ts";
import type { CodeAttempts } from "./attempts.ts";
import {
  type HandshakeContext,
  HandshakeMessage,
  InitiatorHandshake,
  ResponderHandshake,
  type SessionKeys,
  WRONG_CODE_MESSAGE,
} from "./handshake.ts";
import { MAX_RECORD_PLAINTEXT, RecordOpener, RecordSealer } from "./records.ts";

/** Records up to this size are joined into one buffer before writing (copying them costs less). */
const SMALL_RECORD_BYTES = 64 * 1024;

/** Frame type of a cleartext handshake message (beside control 1 and data 2, which are sealed). */
export const HANDSHAKE_FRAME = 3;
/** A handshake message is ~200 bytes; nothing bigger is read from an unauthenticated peer. */
export const MAX_HANDSHAKE_PAYLOAD = 1024;
/** How long an unauthenticated peer may take for each of its handshake messages. */
export const AUTH_TIMEOUT_MS = 10_000;

export interface SecureOptions {
  role: "sender" | "receiver";
  code: string;
  ctx: HandshakeContext;
  /** Receiver: the guess limiter shared by all its sessions. */
  attempts?: CodeAttempts;
}

/** Run the handshake on `conn`; resolves with a stream that seals and opens everything after it. */
export async function secureStream(conn: StreamConnection, opts: SecureOptions): Promise<StreamConnection> {
  const reader = new PreAuthReader(conn.readable);
  const say = (msg: HandshakeMessage) => conn.write(handshakeFrame(msg));
  if (opts.role === "sender") {
    const hs = new InitiatorHandshake(opts.code, opts.ctx);
    await say(hs.first);
    const reply = await reader.message(AUTH_TIMEOUT_MS);
    if (reply.type === "auth-failed") throw new XferError("auth", `receiver: ${reply.message}`);
    if (reply.type !== "pake-reply") throw new XferError("protocol", `expected pake-reply, peer sent '${reply.type}'`);
    let done: ReturnType<InitiatorHandshake["onReply"]>;
    try {
      done = hs.onReply(reply);
    } catch (err) {
      await say({ type: "auth-failed", message: WRONG_CODE_MESSAGE }).catch(() => {});
      await waitAtMost(conn.end(), 1000);
      throw err;
    }
    await say(done.send);
    return new SealedStream(conn, reader, done.keys);
  }

  const hs = new ResponderHandshake(opts.code, opts.ctx);
  const first = await reader.message(AUTH_TIMEOUT_MS).catch((err: unknown) => answerVersion(conn, err));
  if (first.type !== "pake") throw new XferError("protocol", `expected pake, peer sent '${first.type}'`);
  try {
    opts.attempts?.admit();
  } catch (err) {
    await say({ type: "auth-failed", message: (err as Error).message }).catch(() => {});
    throw err;
  }
  let reply: HandshakeMessage;
  try {
    reply = hs.onPake(first);
  } catch (err) {
    return answerVersion(conn, err);
  }
  await say(reply);
  // From here on, a peer that does not prove the code has used up one guess, however it leaves.
  let keys: SessionKeys;
  try {
    const confirm = await reader.message(AUTH_TIMEOUT_MS);
    if (confirm.type === "auth-failed") throw new XferError("auth", WRONG_CODE_MESSAGE);
    if (confirm.type !== "confirm") throw new XferError("protocol", `expected confirm, peer sent '${confirm.type}'`);
    keys = hs.keys(confirm);
  } catch (err) {
    opts.attempts?.failed();
    const e = toXferError(err);
    if (e.code === "auth") {
      await say({ type: "auth-failed", message: WRONG_CODE_MESSAGE }).catch(() => {});
      await waitAtMost(conn.end(), 1000);
      throw e;
    }
    throw new XferError("auth", `the peer did not prove it knows the code (${e.message})`, { cause: err });
  }
  return new SealedStream(conn, reader, keys);
}

/**
 * An older peer (its hello) or a newer one (its pake's version): tell it which versions met in a
 * control frame, which every version reads, then fail with the same error.
 */
async function answerVersion(conn: StreamConnection, err: unknown): Promise<never> {
  const e = toXferError(err);
  if (e.code === "version")
    await conn
      .write(encodeControlFrame(JSON.stringify({ type: "error", code: "version", message: e.message })))
      .catch(() => {});
  throw e;
}

function handshakeFrame(msg: HandshakeMessage): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(msg));
  const frame = new Uint8Array(FRAME_HEADER_BYTES + body.byteLength);
  frame[0] = HANDSHAKE_FRAME;
  new DataView(frame.buffer).setUint32(1, body.byteLength);
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}

/** Reads whole cleartext frames, bounded; keeps what follows the last one for the record layer. */
class PreAuthReader {
  private readonly prefix: StreamPrefix;

  constructor(readable: AsyncIterable<Uint8Array>) {
    this.prefix = new StreamPrefix(readable);
  }

  get source(): AsyncIterator<Uint8Array> {
    return this.prefix.source;
  }

  /** Bytes received after the last handshake frame (the first sealed records). */
  takeRest(): Uint8Array {
    return this.prefix.takeRest();
  }

  async message(timeoutMs: number): Promise<HandshakeMessage> {
    const { type, payload } = await this.frame(timeoutMs);
    let raw: unknown;
    try {
      raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
    } catch {
      throw new XferError("protocol", "peer's handshake message is not JSON");
    }
    if (type === FrameType.control) throw versionMismatch(raw);
    const parsed = HandshakeMessage.safeParse(raw);
    if (!parsed.success) throw new XferError("protocol", "peer sent an invalid handshake message");
    return parsed.data;
  }

  private async frame(timeoutMs: number): Promise<{ type: number; payload: Uint8Array }> {
    const limits: FillLimits = {
      timeoutMs,
      timeout: () => new XferError("timeout", `the peer did not authenticate within ${timeoutMs / 1000} s`),
      ended: () => new XferError("peer-gone", "peer closed the connection during the handshake"),
    };
    await this.fill(FRAME_HEADER_BYTES, limits);
    const head = this.prefix.bytes;
    const type = head[0] as number;
    const length = new DataView(head.buffer, head.byteOffset).getUint32(1);
    // A control frame here is an older xfer's hello (or error): read it to name its version.
    if ((type !== HANDSHAKE_FRAME && type !== FrameType.control) || length > MAX_HANDSHAKE_PAYLOAD)
      throw new XferError("protocol", "peer did not start with a handshake (not xfer, or not this version)");
    await this.fill(FRAME_HEADER_BYTES + length, limits);
    return { type, payload: this.prefix.take(FRAME_HEADER_BYTES + length).subarray(FRAME_HEADER_BYTES) };
  }

  private fill(bytes: number, limits: FillLimits): Promise<void> {
    return this.prefix.fill(bytes, limits).catch((err: unknown) => {
      throw toXferError(err, "connection");
    });
  }
}

/** An older xfer speaks plain session frames: say which versions met, in its own framing. */
function versionMismatch(raw: unknown): XferError {
  const m = raw as { type?: unknown; version?: unknown; code?: unknown; message?: unknown } | null;
  if (m?.type === "error" && m.code === "version" && typeof m.message === "string")
    return new XferError("version", `peer: ${m.message.slice(0, 300)}`);
  const theirs = m?.type === "hello" && typeof m.version === "number" ? `v${m.version}` : "an older version";
  return new XferError(
    "version",
    `peer speaks ${PROTOCOL_NAME} session protocol ${theirs}, this is v${SESSION_PROTOCOL_VERSION} (codes and encryption): update the older side`,
  );
}

/** The session's bytes inside AEAD records, as a StreamConnection (the channel above cannot tell). */
const NOTHING_YET = new Uint8Array(0);

class SealedStream implements StreamConnection {
  private readonly sealer: RecordSealer;
  /**
   * Every record leaves fresh buffers behind, either way. Those released as soon as they are used
   * (src/plugin/owned-chunks.ts) leave nothing; the rest are counted here, and collected.
   */
  private readonly reclaimer = new GarbageReclaimer();
  private lastWrite: Promise<void> = Promise.resolve();
  readonly readable: AsyncIterable<Uint8Array>;

  constructor(
    private readonly inner: StreamConnection,
    reader: PreAuthReader,
    keys: SessionKeys,
  ) {
    this.sealer = new RecordSealer(keys.send);
    const opener = new RecordOpener(keys.receive);
    const rest = reader.takeRest();
    const source = reader.source;
    const reclaimer = this.reclaimer;
    this.readable = {
      async *[Symbol.asyncIterator]() {
        if (rest.byteLength) yield* opener.push(rest);
        for (;;) {
          const next = await source.next();
          if (next.done) {
            if (!opener.atBoundary) throw new XferError("peer-gone", "peer closed the connection mid-record");
            return;
          }
          const plain = opener.push(next.value);
          // Deciphered, the transport's chunk is dead; one the transport handed over is freed now.
          if (!release(next.value)) reclaimer.moved(next.value.byteLength);
          // Bytes of a record still incomplete: nothing to release yet, but the peer is alive. An
          // empty chunk says so, so that a slow link (a 512 KiB record can take a minute at 64 kbit/s)
          // is not taken for a silent one.
          if (plain.length === 0) yield NOTHING_YET;
          else yield* plain;
        }
      },
    };
  }

  get remote(): string {
    return this.inner.remote;
  }

  /**
   * Writes are serialised: the channel's pings are written while a data write waits, and a record
   * sent in parts (or a frame spanning records) must not be interleaved with another write's bytes.
   */
  write(chunk: Uint8Array): Promise<void> {
    const done = this.lastWrite.then(() => this.writeRecords(chunk));
    this.lastWrite = done.catch(() => {});
    return done;
  }

  private async writeRecords(chunk: Uint8Array): Promise<void> {
    for (let at = 0; at < chunk.byteLength; at += MAX_RECORD_PLAINTEXT) {
      const parts = this.sealer.sealParts(chunk.subarray(at, at + MAX_RECORD_PLAINTEXT));
      // A small record goes out in one write: three writes (header, body, tag) were three
      // syscalls and three segments per control message, a cost paid per file in a tree of small files.
      const writes = chunk.byteLength - at <= SMALL_RECORD_BYTES ? [Buffer.concat(parts)] : parts;
      for (const part of writes) {
        await this.inner.write(part);
        // The transport is done with `part` once its write settled (StreamConnection.write).
        if (!release(part)) this.reclaimer.moved(part.byteLength);
      }
    }
  }

  end(): Promise<void> {
    return this.lastWrite.then(() => this.inner.end());
  }

  destroy(reason?: Error): void {
    this.inner.destroy(reason);
  }
}
