/**
 * The sending side of a session over a reliable stream: offer in pages, stream the files of each page
 * as soon as it is answered (the receiver checks the next pages meanwhile), collect verdicts.
 */
import { type FileHandle, open } from "node:fs/promises";
import { waitAtMost } from "../bounded.ts";
import { toXferError, XferError } from "../errors.ts";
import type { EventSink } from "../events.ts";
import { hashFilePrefix } from "../hash-file.ts";
import { newHasher, type StreamingHasher } from "../hashing.ts";
import { assertUnchanged, type LocalEntry, type Offered } from "../manifest.ts";
import { GarbageReclaimer, SENDER_GROWTH_BYTES } from "../memory.ts";
import { Progress } from "../progress.ts";
import type { SessionChannel } from "../protocol/channel.ts";
import { allocDataFrame, encodeControlFrame, truncateDataFrame } from "../protocol/frames.ts";
import { type AcceptedFile, MAX_OFFER_ENTRIES, MAX_PAGE_ENTRIES } from "../protocol/messages.ts";
import { FileHashes } from "./file-hashes.ts";
import { exchangeHello } from "./hello.ts";
import { forPeer } from "./peer-message.ts";
import type { SessionResult } from "./result.ts";
import { type PagePlan, SenderSession, type SentFile } from "./sender-state.ts";
import { SmallFiles } from "./small-files.ts";

/** Bytes per data frame: large enough that per-frame work vanishes, small enough to pace and resume well. */
const CHUNK_BYTES = 512 * 1024;
/** How long a failed write waits for the receiver's own account of why (see Verdicts.reasonFor). */
const REASON_WAIT_MS = 500;
/**
 * Entries a page, MAX_PAGE_ENTRIES unless XFER_PAGE_ENTRIES asks for fewer: the e2e tests send
 * trees of a few hundred files in several pages that way (the wire allows any page size up to the limit).
 */
function pageEntries(): number {
  const asked = Number(process.env.XFER_PAGE_ENTRIES);
  return Number.isInteger(asked) && asked >= 1 ? Math.min(asked, MAX_PAGE_ENTRIES) : MAX_PAGE_ENTRIES;
}

/**
 * Offer pages in flight ahead of the one whose files are streaming: the receiver checks them while
 * the files go, and holds at most MAX_PAGES_HELD (offer-pages.ts).
 */
const PAGES_AHEAD = 4;

export interface SenderOptions {
  stdin: AsyncIterable<Uint8Array>;
}

export async function runSender(
  channel: SessionChannel,
  offered: Offered,
  emit: EventSink,
  opts: SenderOptions,
): Promise<SessionResult> {
  if (offered.length > MAX_OFFER_ENTRIES)
    throw new XferError(
      "usage",
      `${offered.length} entries to send, more than one offer holds (${MAX_OFFER_ENTRIES}): send fewer files at a time (sub-folders one by one)`,
    );
  const session = new SenderSession(offered, await exchangeHello(channel, "sender"), pageEntries());
  for (const path of session.skipped)
    emit({ event: "warning", message: `skipping ${path}: the receiver cannot make symbolic links` });
  const sendPage = async () => {
    const page = session.nextPage();
    if (page === null) return;
    await channel.sendFrame(encodeControlFrame("json" in page ? page.json : JSON.stringify(page)));
  };
  await channel.send(session.head());
  for (let i = 0; i < PAGES_AHEAD; i++) await sendPage();
  const progress = new Progress(emit, session.totalBytes);
  // A receiver that reports what it wrote drives the bar; an older one leaves it to what was sent.
  if (session.acknowledged) progress.useAcknowledgements();
  const verdicts = new Verdicts(channel, session, emit, progress);
  const hashes = new FileHashes();
  const reclaimer = new GarbageReclaimer(SENDER_GROWTH_BYTES);

  const group = new SmallFiles((items) => channel.sendAll(items), progress, emit, verdicts);
  try {
    for (let plan = await verdicts.nextPage(); plan; plan = await verdicts.nextPage()) {
      progress.notComing(plan.notComing);
      for (const e of plan.events) emit(e);
      // The next page goes before this one's files: the receiver checks it while they stream.
      await sendPage();
      for (const { index, local, accepted } of plan.files) {
        verdicts.throwIfAborted();
        reclaimer.fileDone();
        const { entry, source } = local;
        progress.file = entry.path;
        if (source.kind === "file" && accepted.offset === 0 && entry.size !== null && entry.size <= CHUNK_BYTES) {
          hashes.add(entry.path, await group.add(index, local, source.path, entry.size));
          continue;
        }
        await group.flush();
        const hash = await sendFile(channel, index, local, accepted, progress, emit, verdicts, opts);
        if (hash) hashes.add(entry.path, hash);
      }
      // The page's last small files go now, not after the wait for the next page's answer.
      await group.flush();
    }
    await channel.send({ type: "done" });
  } catch (err) {
    const e = await verdicts.reasonFor(err);
    // Our own failure (a source that changed, a read error): tell the receiver why before leaving.
    if (!verdicts.aborted && e.code !== "peer-gone")
      await channel.send({ type: "error", code: e.code, message: forPeer(e.message) }).catch(() => {});
    throw e;
  }
  const confirmed = await verdicts.finished;
  reclaimer.collectNow();
  progress.flush(true);
  await channel.end();
  return {
    files: confirmed,
    failures: session.failures,
    bytes: progress.transferred,
    seconds: progress.elapsedSeconds(),
    hash: await hashes.digest(),
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
    const { hash, size } = await streamStdin(channel, opts.stdin, progress, verdicts);
    // Known before the end goes out: the verdict may arrive before send() returns.
    verdicts.sentFile(index, { bytes: size, hash, resumedFrom: 0 });
    await channel.send({ type: "file-end", index, size, hash });
    return hash;
  }
  if (source.kind !== "file") return null;
  let fh: FileHandle;
  try {
    fh = await open(source.path, "r");
  } catch (err) {
    throw toXferError(err, `cannot read '${source.path}'`);
  }
  try {
    let start = 0;
    let hasher: StreamingHasher | null = null;
    if (acc.existing) {
      // The receiver has a file of this size: prove ours is the same (it compares; it never tells us its hash).
      hasher = await hashFilePrefix(source.path, acc.offset);
      start = acc.offset;
    } else if (acc.offset > 0 && acc.prefixHash) {
      hasher = await hashFilePrefix(source.path, acc.offset);
      if (hasher.digest() === acc.prefixHash) start = acc.offset;
      else hasher = null;
    }
    await channel.send({ type: "file", index, offset: start });
    emit({ event: "file-start", index, path: entry.path, size: entry.size, offset: start });
    progress.alreadyThere(start);
    hasher ??= await newHasher();
    const size = entry.size ?? 0;
    assertUnchanged(fh.fd, entry, source.path);
    await streamFile(channel, fh, start, size, hasher, progress, verdicts, source.path);
    // Read to the end of what was offered; if the file moved under us meanwhile, the hash describes
    // bytes from two versions: say so instead of letting them be published.
    assertUnchanged(fh.fd, entry, source.path);
    const hash = hasher.digest();
    verdicts.sentFile(index, { bytes: size, hash, resumedFrom: start });
    await channel.send({ type: "file-end", index, size, hash });
    return hash;
  } finally {
    await fh.close();
  }
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
  return { hash: hasher.digest(), size };
}

/**
 * Reads the receiver's answers while the sender streams, so a failure on the far side (disk full,
 * a bad hash) stops the sender at once instead of after the last byte. What each answer means is
 * SenderSession's to say; this loop only carries it out.
 */
class Verdicts {
  private abortError: XferError | null = null;
  /** Resolves with the number of files the receiver confirmed, once every file sent has its verdict. */
  readonly finished: Promise<number>;
  /** Answered pages not yet taken by the sending loop, and its wake-up when it waits for one. */
  private readonly plans: PagePlan[] = [];
  private wake: (() => void) | null = null;

  constructor(
    private readonly channel: SessionChannel,
    private readonly session: SenderSession,
    private readonly emit: EventSink,
    private readonly progress: Progress,
  ) {
    this.finished = this.readLoop();
    // The sender may be busy when an abort arrives; the error surfaces on its next check.
    this.finished.catch((err: unknown) => {
      this.abortError = toXferError(err);
      this.wake?.();
    });
  }

  /** The next answered page, in offer order; null once every page is answered and taken. */
  async nextPage(): Promise<PagePlan | null> {
    for (;;) {
      this.throwIfAborted();
      const plan = this.plans.shift();
      if (plan) return plan;
      if (this.session.offerAnswered) return null;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = null;
    }
  }

  get aborted(): boolean {
    return this.abortError !== null;
  }

  throwIfAborted(): void {
    if (this.abortError) throw this.abortError;
  }

  /**
   * A receiver that fails (its disk, its folder) says why and closes: the sender's next write then
   * fails with a bare "connection lost". Its message, read here, is the reason worth reporting.
   */
  async reasonFor(err: unknown): Promise<XferError> {
    const local = toXferError(err);
    if (local.code !== "peer-gone") return local;
    await waitAtMost(this.finished, REASON_WAIT_MS);
    return this.abortError ?? local;
  }

  sentFile(index: number, info: SentFile): void {
    this.session.sentFile(index, info);
  }

  private async readLoop(): Promise<number> {
    for (;;) {
      const item = await this.channel.expect();
      if (item.kind !== "control") throw new XferError("protocol", "receiver sent file data to the sender");
      for (const action of this.session.onMessage(item.msg)) {
        if (action.do === "emit") this.emit(action.event);
        else if (action.do === "acknowledge") this.progress.acknowledge(action.bytes);
        else if (action.do === "page") {
          this.plans.push(action.plan);
          this.wake?.();
        } else return action.confirmed;
      }
    }
  }
}
