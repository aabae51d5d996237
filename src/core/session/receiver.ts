/** The receiving side of a session: check the offer, write what arrives, verify every file. */
import { toXferError, XferError } from "../errors.ts";
import type { EventSink, XferEvent } from "../events.ts";
import { GarbageReclaimer, RECEIVER_GROWTH_BYTES } from "../memory.ts";
import type { OfferedNames } from "../names.ts";
import { Progress } from "../progress.ts";
import { encodeAcceptFrame } from "../protocol/accept-frame.ts";
import type { SessionChannel } from "../protocol/channel.ts";
import {
  type ControlMessage,
  FEATURE_RECEIVED,
  FEATURE_REFUSE,
  type ManifestEntry,
  type MessageOf,
} from "../protocol/messages.ts";
import { type Commit, PublishBatch } from "../receive/publish-batch.ts";
import type { FileSink, PreparedFiles, ReceiveTarget } from "../receive/receive-target.ts";
import { FileHashes } from "./file-hashes.ts";
import { exchangeHello, peerAbort } from "./hello.ts";
import { type HeldPage, OfferPages } from "./offer-pages.ts";
import { type LockHolder, type PathLocks, TAKEN_OVER_MESSAGE } from "./path-locks.ts";
import { forPeer } from "./peer-message.ts";
import type { SessionResult } from "./result.ts";

interface OpenFile {
  index: number;
  entry: ManifestEntry;
  page: HeldPage<PreparedFiles>;
  /** null while checking that an existing final file is identical (nothing is written). */
  sink: FileSink | null;
  offset: number;
  received: number;
}

/** What every kind of receiving session shares with the others of one receiver. */
export interface ReceiverShared {
  locks: PathLocks;
  /** Asks the user before anything is written (a terminal); undefined: accept. */
  approve?: (offer: OfferEvent) => Promise<boolean>;
}

export type OfferEvent = Extract<XferEvent, { event: "offer" }>;

/** The offer as the user is asked about it: the head's totals, the first page's first names. */
function pagedOfferEvent(remote: string, head: MessageOf<"offer-head">, first: readonly ManifestEntry[]): OfferEvent {
  return {
    event: "offer",
    remote,
    files: head.files,
    dirs: head.entries - head.files,
    totalBytes: head.bytes,
    names: first.slice(0, 20).map((e) => e.path),
  };
}

/** A whole offer as the user is asked about it (datagram sessions: their offer is one message). */
export function offerEvent(remote: string, entries: readonly ManifestEntry[]): OfferEvent {
  const files = entries.filter((e) => e.kind === "file");
  return {
    event: "offer",
    remote,
    files: files.length,
    dirs: entries.length - files.length,
    totalBytes: files.some((f) => f.size === null) ? null : files.reduce((a, f) => a + (f.size ?? 0), 0),
    names: entries.slice(0, 20).map((e) => e.path),
  };
}

/** Verdicts of skipped files held at most before they go (see receiveFiles: they wait for a read that would block). */
const VERDICTS_QUEUED = 1024;

/** How often the receiver tells an acknowledging sender what it wrote (the sender's bar refresh). */
const ACK_EVERY_MS = 250;

export const DECLINED_MESSAGE = "the receiver declined the offer";
export const BUSY_MESSAGE = "another session is writing some of these files right now (and is not silent)";

export async function runReceiver(
  channel: SessionChannel,
  target: ReceiveTarget,
  emit: EventSink,
  shared: ReceiverShared,
): Promise<SessionResult> {
  const peerFeatures = await exchangeHello(channel, "receiver");
  const { pages, firstPage } = await readOpening(channel);
  const offer = pagedOfferEvent(channel.remote, pages.head, firstPage?.entries ?? []);
  emit(offer);
  if (shared.approve && !(await shared.approve(offer))) {
    await channel.send({ type: "reject", code: "rejected", message: DECLINED_MESSAGE });
    await channel.end().catch(() => {});
    throw new XferError("rejected", DECLINED_MESSAGE);
  }
  let takenOver = false;
  const holder: LockHolder = {
    silentForMs: () => channel.silentForMs(),
    abort: (r) => {
      takenOver = true;
      channel.destroy(r);
    },
  };
  try {
    return await new PagedReceive(channel, target, emit, shared, holder, pages, peerFeatures).run(firstPage);
  } catch (err) {
    throw takenOver ? new XferError("taken-over", TAKEN_OVER_MESSAGE) : err;
  } finally {
    shared.locks.unlockAll(holder);
  }
}

/**
 * The offer's head and first page (or the end of an empty offer): they come before the question,
 * which shows the totals and the first names. A sender that gets them wrong is told why.
 */
async function readOpening(channel: SessionChannel) {
  try {
    const head = await channel.expect();
    if (head.kind !== "control" || head.msg.type !== "offer-head") throw new XferError("protocol", "expected an offer");
    const pages = new OfferPages<PreparedFiles>(head.msg);
    const opening = await nextOfferPart(channel);
    const firstPage = opening.type === "offer-page" ? pages.page(opening.first, opening.entries) : null;
    if (!firstPage) pages.end();
    return { pages, firstPage };
  } catch (err) {
    const e = toXferError(err);
    if (e.code !== "peer-gone")
      await channel.send({ type: "error", code: e.code, message: forPeer(e.message) }).catch(() => {});
    throw e;
  }
}

/** The next part of the offer: a page or its end (anything else is out of place here). */
async function nextOfferPart(channel: SessionChannel): Promise<MessageOf<"offer-page"> | MessageOf<"offer-end">> {
  const item = await channel.expect();
  if (item.kind !== "control" || (item.msg.type !== "offer-page" && item.msg.type !== "offer-end"))
    throw new XferError("protocol", "expected the offer's first page");
  return item.msg;
}

/**
 * One session after the question: every page checked and answered as it comes (between files: the
 * sender streams the files of earlier pages meanwhile), every file written and verified.
 */
class PagedReceive {
  /** The names of every page so far, checked against each other (absent: standard output). */
  private readonly names: OfferedNames | undefined;
  private readonly progress: Progress;
  /** Folders this session created (only they get the offered mode and time). */
  private readonly created: ManifestEntry[] = [];
  /** Links offered and not refused: made after every file, like tar. */
  private readonly links: { index: number; entry: ManifestEntry }[] = [];
  /** The verified files' names and hashes: the names as numbers in `names` where there is one. */
  private readonly hashes: FileHashes;
  private readonly reclaimer = new GarbageReclaimer(RECEIVER_GROWTH_BYTES);
  /** Per-file failures after the offer (integrity, exists), and the entries refused in it. */
  private readonly failures: { code: string; message: string }[] = [];
  private readonly refusedFailures: { code: string; message: string }[] = [];
  private acceptedFiles = 0;
  /** Bytes the accepted files still need here, all pages so far (what is written is subtracted). */
  private acceptedBytes = 0;
  /** A page was answered with a reject: the session ends without an error message on top. */
  private rejected = false;

  constructor(
    private readonly channel: SessionChannel,
    private readonly target: ReceiveTarget,
    private readonly emit: EventSink,
    private readonly shared: ReceiverShared,
    private readonly holder: LockHolder,
    private readonly pages: OfferPages<PreparedFiles>,
    private readonly peerFeatures: readonly string[],
  ) {
    this.names = target.offerNames?.();
    this.hashes = new FileHashes(this.names);
    this.progress = new Progress(emit, pages.head.bytes);
  }

  async run(firstPage: HeldPage<PreparedFiles> | null): Promise<SessionResult> {
    const batch = new PublishBatch(() => this.sendVerdicts());
    try {
      if (firstPage) await this.checkPage(firstPage);
      return await this.receiveFiles(batch);
    } catch (err) {
      const e = toXferError(err);
      if (this.current?.sink) await this.current.sink.abandon();
      await batch.abandon();
      // Tell the sender why, unless the connection itself is what failed (or a reject said it).
      if (e.code !== "peer-gone" && !this.rejected)
        await this.channel.send({ type: "error", code: e.code, message: forPeer(e.message) }).catch(() => {});
      throw e;
    }
  }

  private readonly verdicts: ControlMessage[] = [];

  private async sendVerdicts(): Promise<void> {
    if (this.verdicts.length) await this.channel.sendAll(this.verdicts.splice(0));
  }

  /**
   * Lock, check and answer one page; make its folders. A page that cannot be taken is answered with
   * a reject and ends the session (files of earlier pages that were published stay).
   */
  private async checkPage(page: HeldPage<PreparedFiles>): Promise<void> {
    const { channel, target, emit, pages } = this;
    const { first, entries } = page;
    let prepared: PreparedFiles;
    let refused: Map<number, { code: string; message: string }>;
    try {
      if (
        !(await this.shared.locks.lock(
          entries.map((e) => e.path),
          this.holder,
        ))
      )
        throw new XferError("busy", BUSY_MESSAGE);
      const options = { first, names: this.names };
      refused =
        this.peerFeatures.includes(FEATURE_REFUSE) && target.refusals
          ? await target.refusals(entries, options)
          : new Map();
      const pendingBytes = Math.max(0, this.acceptedBytes - this.progress.transferred);
      prepared = await target.prepare(entries, {
        ...options,
        resume: true,
        refused: new Set(refused.keys()),
        pendingBytes,
      });
      for (let at = 0; at < entries.length; at++) {
        const entry = entries[at]!;
        if (refused.has(first + at)) continue;
        if (entry.kind === "dir" && (await target.makeDir(entry))) this.created.push(entry);
        if (entry.kind === "symlink") this.links.push({ index: first + at, entry });
      }
    } catch (err) {
      const e = toXferError(err);
      this.rejected = true;
      await channel.send({ type: "reject", code: e.code, message: forPeer(e.message) }).catch(() => {});
      await channel.end().catch(() => {});
      throw e;
    }
    const refusedList = [...refused].map(([index, r]) => ({ index, ...r }));
    await channel.sendFrame(encodeAcceptFrame(prepared, refusedList));
    let files = 0;
    for (let index = first; index < prepared.end; index++) {
      if (!prepared.has(index)) continue;
      files++;
      const size = entries[index - first]!.size ?? 0;
      const accepted = prepared.isFresh(index) ? null : prepared.get(index)!.accepted;
      if (!accepted?.existing) this.acceptedBytes += size - (accepted?.offset ?? 0);
    }
    this.acceptedFiles += files;
    for (const r of refusedList) {
      const entry = entries[r.index - first]!;
      if (entry.kind === "file") this.progress.notComing(entry.size ?? 0);
      this.refusedFailures.push({ code: r.code, message: r.message });
      emit({ event: "file-failed", path: entry.path, ...r });
    }
    pages.checked(page, prepared, files);
  }

  /** The file whose data is arriving. */
  private current: OpenFile | null = null;

  private async receiveFiles(batch: PublishBatch): Promise<SessionResult> {
    const { channel, target, emit, progress, pages, hashes, failures } = this;
    const acknowledge = this.peerFeatures.includes(FEATURE_RECEIVED);
    let lastAck = performance.now();
    for (;;) {
      // Verdicts of files that needed no writing go when the next read would wait: one record for
      // the run of them that came in one read, not one a file (10^6 records for a re-sent tree).
      if (this.verdicts.length > 0 && !channel.hasPending) await this.sendVerdicts();
      const { current } = this;
      const item = await channel.expect();
      if (item.kind === "data") {
        if (!current?.sink) throw new XferError("protocol", "peer sent data outside a file");
        await current.sink.write(item.bytes);
        current.received += item.bytes.byteLength;
        progress.add(item.bytes.byteLength);
        if (acknowledge && performance.now() - lastAck >= ACK_EVERY_MS) {
          lastAck = performance.now();
          await channel.send({ type: "received", bytes: progress.transferred });
        }
        continue;
      }
      const msg = item.msg;
      switch (msg.type) {
        case "offer-page":
          await this.checkPage(pages.page(msg.first, msg.entries));
          break;
        case "offer-end":
          pages.end();
          break;
        case "file": {
          if (current) throw new XferError("protocol", "peer started a file before ending the previous one");
          if (pages.startedBefore(msg.index))
            throw new XferError("protocol", `peer sent file #${msg.index} a second time, or out of offer order`);
          const page = pages.start(msg.index);
          const prep = page?.prepared?.get(msg.index);
          if (!page || !prep)
            throw new XferError("protocol", `peer started file #${msg.index}, which was not accepted`);
          const entry = page.entries[msg.index - page.first]!;
          const { accepted } = prep;
          if (msg.offset !== 0 && msg.offset !== accepted.offset)
            throw new XferError("protocol", `peer resumed '${entry.path}' at ${msg.offset}, not at ${accepted.offset}`);
          progress.file = entry.path;
          emit({ event: "file-start", index: msg.index, path: entry.path, size: entry.size, offset: msg.offset });
          progress.alreadyThere(msg.offset);
          const checkingExisting = accepted.existing && msg.offset === accepted.offset;
          if (accepted.existing && !checkingExisting) {
            // The sender wants to replace a file we were not allowed to replace: refuse, keep the file.
            throw new XferError("exists", `'${entry.path}' already exists here (use --overwrite to replace it)`);
          }
          const sink = checkingExisting ? null : await target.openFile(entry, msg.offset, prep.prefix);
          this.current = { index: msg.index, entry, page, sink, offset: msg.offset, received: 0 };
          break;
        }
        case "file-end": {
          if (!current || current.index !== msg.index)
            throw new XferError("protocol", "file-end for a file not started");
          const done: OpenFile = current;
          this.current = null;
          pages.fileEnded(done.page);
          let commit: Commit | null = null;
          try {
            if (done.sink) commit = await done.sink.finish(msg.size, msg.hash);
            else if (
              msg.size !== done.entry.size ||
              (await done.page.prepared?.get(done.index)?.existingHash?.()) !== msg.hash
            )
              throw new XferError(
                "exists",
                `'${done.entry.path}' exists here with different content (the receiver needs --overwrite)`,
              );
          } catch (err) {
            const e = toXferError(err);
            if (e.code !== "integrity" && e.code !== "exists") throw e;
            failures.push({ code: e.code, message: e.message });
            emit({ event: "file-failed", index: done.index, path: done.entry.path, code: e.code, message: e.message });
            await channel.send({ type: "file-failed", index: done.index, code: e.code, message: forPeer(e.message) });
            break;
          }
          hashes.add(done.entry.path, msg.hash);
          this.reclaimer.fileDone();
          // Reported only once it is durable and under its final name.
          const published = () => {
            emit({
              event: "file-done",
              index: done.index,
              path: done.entry.path,
              bytes: msg.size,
              hash: msg.hash,
              resumedFrom: done.offset,
              skipped: done.sink === null,
            });
            this.verdicts.push({ type: "file-ok", index: done.index, skipped: done.sink === null });
          };
          if (commit) await batch.add(commit, published);
          else {
            published();
            if (this.verdicts.length >= VERDICTS_QUEUED) await this.sendVerdicts();
          }
          break;
        }
        case "done":
          if (current) throw new XferError("protocol", "peer said done in the middle of a file");
          if (!pages.complete) throw new XferError("protocol", "peer said done before the end of its offer");
          await batch.drain();
          return this.finish();
        case "error":
          throw peerAbort(msg);
        default:
          throw new XferError("protocol", `unexpected '${msg.type}' from sender`);
      }
    }
  }

  private async finish(): Promise<SessionResult> {
    const { channel, target, emit, progress, hashes, failures } = this;
    progress.flush();
    await this.sendVerdicts();
    const missing = this.acceptedFiles - hashes.size - failures.length;
    if (missing > 0) failures.push({ code: "incomplete", message: `${missing} offered file(s) were not sent` });
    // Links after every file, like tar: no file is ever written through one. Before the folders'
    // modes and times: a link changes its folder's mtime, and a read-only folder takes none.
    for (const { index, entry } of this.links) {
      try {
        if (!target.makeLink) throw new XferError("rejected", "this receiver does not make symbolic links");
        await target.makeLink(entry);
      } catch (err) {
        const e = toXferError(err);
        if (!["exists", "unsafe-name", "rejected"].includes(e.code)) throw e;
        failures.push({ code: e.code, message: e.message });
        emit({ event: "file-failed", index, path: entry.path, code: e.code, message: e.message });
        await channel.send({ type: "file-failed", index, code: e.code, message: forPeer(e.message) });
      }
    }
    await target.finishDirs(this.created);
    this.reclaimer.collectNow();
    await channel.send({
      type: "summary",
      files: hashes.size,
      bytes: progress.transferred,
      failed: failures.length + this.refusedFailures.length,
    });
    await channel.end();
    return {
      files: hashes.size,
      failures: [...this.refusedFailures, ...failures],
      bytes: progress.transferred,
      seconds: progress.elapsedSeconds(),
      hash: await hashes.digest(),
    };
  }
}
