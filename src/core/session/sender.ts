/** The sending side of a session over a reliable stream: offer, stream each file, collect verdicts. */
import { closeSync, openSync, readSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { toXferError, XferError } from "../errors.ts";
import type { EventSink } from "../events.ts";
import { hashFilePrefix } from "../hash-file.ts";
import { newHasher, type StreamingHasher } from "../hashing.ts";
import type { LocalEntry } from "../manifest.ts";
import { Progress } from "../progress.ts";
import type { SessionChannel } from "../protocol/channel.ts";
import { allocDataFrame, truncateDataFrame } from "../protocol/frames.ts";
import { type AcceptedFile, type ControlMessage, FEATURE_SYMLINKS } from "../protocol/messages.ts";
import { exchangeHello, peerAbort } from "./hello.ts";
import { type SessionResult, summaryHash } from "./result.ts";

/** Bytes per data frame: large enough that per-frame work vanishes, small enough to pace and resume well. */
const CHUNK_BYTES = 512 * 1024;

export interface SenderOptions {
  stdin: AsyncIterable<Uint8Array>;
}

export async function runSender(
  channel: SessionChannel,
  offered: readonly LocalEntry[],
  emit: EventSink,
  opts: SenderOptions,
): Promise<SessionResult> {
  let entries = offered;
  const features = await exchangeHello(channel, "sender");
  if (!features.includes(FEATURE_SYMLINKS) && entries.some((e) => e.entry.kind === "symlink")) {
    for (const e of entries)
      if (e.entry.kind === "symlink")
        emit({ event: "warning", message: `skipping ${e.entry.path}: the receiver cannot make symbolic links` });
    entries = entries.filter((e) => e.entry.kind !== "symlink");
  }
  await channel.send({ type: "offer", entries: entries.map((e) => e.entry) });
  const reply = await channel.expect();
  if (reply.kind !== "control") throw new XferError("protocol", "peer sent data instead of answering the offer");
  if (reply.msg.type === "reject" || reply.msg.type === "error") {
    const code = reply.msg.code;
    throw new XferError(
      code === "unsafe-name" || code === "exists" || code === "busy" ? code : "rejected",
      `receiver refused: ${reply.msg.message}`,
    );
  }
  if (reply.msg.type !== "accept") throw new XferError("protocol", `expected accept, peer sent '${reply.msg.type}'`);
  const accepted = new Map(reply.msg.files.map((f) => [f.index, f]));
  const refused = new Set(reply.msg.refused.map((r) => r.index));

  const fileEntries = entries.filter((e, i) => e.entry.kind === "file" && !refused.has(i));
  const known = fileEntries.map((e) => e.entry.size);
  const total = known.includes(null) ? null : known.reduce<number>((a, b) => a + (b ?? 0), 0);
  const progress = new Progress(emit, total);
  const verdicts = new Verdicts(channel, entries, emit);
  const hashes = new Map<string, string>();
  for (const r of reply.msg.refused) verdicts.localFailure(r.index, r.code, `receiver refused it: ${r.message}`);

  for (const [index, local] of entries.entries()) {
    if (local.entry.kind !== "file" || refused.has(index)) continue;
    verdicts.throwIfAborted();
    const acc = accepted.get(index);
    if (!acc) throw new XferError("protocol", `receiver did not answer for '${local.entry.path}'`);
    progress.file = local.entry.path;
    const hash = await sendFile(channel, index, local, acc, progress, emit, verdicts, opts);
    if (hash) hashes.set(local.entry.path, hash);
  }
  progress.flush();
  await channel.send({ type: "done" });
  const summary = await verdicts.finished;
  await channel.end();
  return {
    files: summary.files,
    failures: verdicts.failures,
    bytes: progress.transferred,
    seconds: progress.elapsedSeconds(),
    hash: await summaryHash(hashes),
  };
}

async function sendFile(
  channel: SessionChannel,
  index: number,
  local: LocalEntry,
  acc: AcceptedFile,
  progress: Progress,
  emit: EventSink,
  verdicts: Verdicts,
  opts: SenderOptions,
): Promise<string | null> {
  const { entry, source } = local;
  if (source.kind === "stdin") {
    await channel.send({ type: "file", index, offset: 0 });
    emit({ event: "file-start", index, path: entry.path, size: null, offset: 0 });
    const { hash, size } = await streamStdin(channel, index, opts.stdin, progress, verdicts);
    verdicts.sentFile(index, { bytes: size, hash, resumedFrom: 0 });
    return hash;
  }
  if (source.kind !== "file") return null;
  if (acc.offset === 0 && entry.size !== null && entry.size <= CHUNK_BYTES)
    return sendSmallFile(channel, index, local, source.path, entry.size, progress, emit, verdicts);
  let fh: FileHandle;
  try {
    fh = await open(source.path, "r");
  } catch (err) {
    throw toXferError(err, `cannot read '${source.path}'`);
  }
  try {
    let start = 0;
    let hasher: StreamingHasher | null = null;
    if (acc.offset > 0 && acc.prefixHash) {
      hasher = await hashFilePrefix(source.path, acc.offset);
      if (hasher.digest() === acc.prefixHash) start = acc.offset;
      else hasher = null;
    }
    if (acc.existing && start !== acc.offset) {
      // The receiver has a different file under this name and was not told to replace it.
      const message = `'${entry.path}' exists on the receiver with different content (receiver needs --overwrite)`;
      verdicts.localFailure(index, "exists", message);
      return null;
    }
    await channel.send({ type: "file", index, offset: start });
    emit({ event: "file-start", index, path: entry.path, size: entry.size, offset: start });
    hasher ??= await newHasher();
    const size = entry.size ?? 0;
    await streamFile(channel, fh, start, size, hasher, progress, verdicts, source.path);
    const hash = hasher.digest();
    await channel.send({ type: "file-end", index, size, hash });
    verdicts.sentFile(index, { bytes: size, hash, resumedFrom: start });
    return hash;
  } finally {
    await fh.close();
  }
}

/**
 * A file that fits one frame, read with synchronous calls: in a tree of small files the thread-pool
 * round trips of open, read and close cost more than the calls (measured, docs/BENCHMARKS.md).
 * Files with a resume offset or an existing copy take the general path (they need the prefix hash).
 */
async function sendSmallFile(
  channel: SessionChannel,
  index: number,
  local: LocalEntry,
  path: string,
  size: number,
  progress: Progress,
  emit: EventSink,
  verdicts: Verdicts,
): Promise<string> {
  const { frame, payload } = allocDataFrame(size);
  let got = 0;
  try {
    const fd = openSync(path, "r");
    try {
      while (got < size) {
        const n = readSync(fd, payload, got, size - got, got);
        if (n === 0) break;
        got += n;
      }
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw toXferError(err, `reading '${path}'`);
  }
  if (got < size) throw new XferError("source-unreadable", `'${path}' shrank while being sent`);
  const hasher = await newHasher();
  hasher.update(payload);
  const hash = hasher.digest();
  verdicts.throwIfAborted();
  emit({ event: "file-start", index, path: local.entry.path, size, offset: 0 });
  const data = size > 0 ? [frame] : [];
  await channel.sendAll([{ type: "file", index, offset: 0 }, ...data, { type: "file-end", index, size, hash }]);
  progress.add(size);
  verdicts.sentFile(index, { bytes: size, hash, resumedFrom: 0 });
  return hash;
}

async function streamFile(
  channel: SessionChannel,
  fh: FileHandle,
  start: number,
  size: number,
  hasher: StreamingHasher,
  progress: Progress,
  verdicts: Verdicts,
  path: string,
): Promise<void> {
  // Two frame buffers, reused: one being read from disk while the other is with the transport.
  // Fresh buffers per chunk cost a page fault per 4 KiB and made the sender CPU-bound (measured).
  const spare = [allocDataFrame(CHUNK_BYTES), allocDataFrame(CHUNK_BYTES)];
  const readChunk = async (pos: number) => {
    const want = Math.min(CHUNK_BYTES, size - pos);
    const buffers = spare.pop()!;
    let got = 0;
    try {
      while (got < want) {
        const { bytesRead } = await fh.read(buffers.payload, got, want - got, pos + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
    } catch (err) {
      throw toXferError(err, `reading '${path}'`);
    }
    if (got < want) throw new XferError("source-unreadable", `'${path}' shrank while being sent`);
    return { buffers, frame: truncateDataFrame(buffers.frame, got), payload: buffers.payload.subarray(0, got) };
  };
  let pos = start;
  let next = pos < size ? readChunk(pos) : null;
  while (next) {
    const { buffers, frame, payload } = await next;
    pos += payload.byteLength;
    next = pos < size ? readChunk(pos) : null;
    hasher.update(payload);
    verdicts.throwIfAborted();
    await channel.sendDataFrame(frame);
    spare.push(buffers);
    progress.add(payload.byteLength);
  }
}

async function streamStdin(
  channel: SessionChannel,
  index: number,
  stdin: AsyncIterable<Uint8Array>,
  progress: Progress,
  verdicts: Verdicts,
): Promise<{ hash: string; size: number }> {
  const hasher = await newHasher();
  let size = 0;
  for await (const chunk of stdin) {
    for (let at = 0; at < chunk.byteLength; at += CHUNK_BYTES) {
      const piece = chunk.subarray(at, at + CHUNK_BYTES);
      const { frame, payload } = allocDataFrame(piece.byteLength);
      payload.set(piece);
      hasher.update(piece);
      verdicts.throwIfAborted();
      await channel.sendDataFrame(truncateDataFrame(frame, piece.byteLength));
      size += piece.byteLength;
      progress.add(piece.byteLength);
    }
  }
  const hash = hasher.digest();
  await channel.send({ type: "file-end", index, size, hash });
  return { hash, size };
}

/**
 * Reads the receiver's answers while the sender streams, so a failure on the far side (disk full,
 * a bad hash) stops the sender at once instead of after the last byte.
 */
class Verdicts {
  readonly failures: { code: string; message: string }[] = [];
  private readonly sent = new Map<number, { bytes: number; hash: string; resumedFrom: number }>();
  private abortError: XferError | null = null;
  readonly finished: Promise<{ files: number; failed: number }>;

  constructor(
    private readonly channel: SessionChannel,
    private readonly entries: readonly LocalEntry[],
    private readonly emit: EventSink,
  ) {
    this.finished = this.readLoop();
    // The sender may be busy when an abort arrives; the error surfaces on its next check.
    this.finished.catch((err: unknown) => {
      this.abortError = toXferError(err);
    });
  }

  throwIfAborted(): void {
    if (this.abortError) throw this.abortError;
  }

  localFailure(index: number, code: string, message: string): void {
    this.failures.push({ code, message });
    this.emit({ event: "file-failed", index, path: this.pathOf(index), code, message });
  }

  /** Remember what was sent so the receiver's verdict can be reported with it. */
  sentFile(index: number, info: { bytes: number; hash: string; resumedFrom: number }): void {
    this.sent.set(index, info);
  }

  private pathOf(index: number): string {
    return this.entries[index]?.entry.path ?? `#${index}`;
  }

  private async readLoop(): Promise<{ files: number; failed: number }> {
    for (;;) {
      const item = await this.channel.expect();
      if (item.kind !== "control") throw new XferError("protocol", "receiver sent file data to the sender");
      const msg: ControlMessage = item.msg;
      switch (msg.type) {
        case "file-ok": {
          const info = this.sent.get(msg.index) ?? { bytes: 0, hash: "", resumedFrom: 0 };
          this.emit({
            event: "file-done",
            index: msg.index,
            path: this.pathOf(msg.index),
            skipped: msg.skipped,
            ...info,
          });
          break;
        }
        case "file-failed":
          this.failures.push({ code: msg.code, message: `receiver: ${msg.message}` });
          this.emit({
            event: "file-failed",
            index: msg.index,
            path: this.pathOf(msg.index),
            code: msg.code,
            message: msg.message,
          });
          break;
        case "summary":
          return { files: msg.files, failed: msg.failed };
        case "error":
          throw peerAbort(msg);
        default:
          throw new XferError("protocol", `unexpected '${msg.type}' from receiver`);
      }
    }
  }
}
