/** The receiving side of a session: check the offer, write what arrives, verify every file. */
import { toXferError, XferError } from "../errors.ts";
import type { EventSink, XferEvent } from "../events.ts";
import { Progress } from "../progress.ts";
import { encodeAcceptFrame } from "../protocol/accept-frame.ts";
import type { SessionChannel } from "../protocol/channel.ts";
import { type ControlMessage, FEATURE_RECEIVED, FEATURE_REFUSE, type ManifestEntry } from "../protocol/messages.ts";
import { type Commit, PublishBatch } from "../receive/publish-batch.ts";
import type { FileSink, PreparedFiles, ReceiveTarget, Refusal } from "../receive/receive-target.ts";
import { exchangeHello, peerAbort } from "./hello.ts";
import { type LockHolder, type PathLocks, TAKEN_OVER_MESSAGE } from "./path-locks.ts";
import { forPeer } from "./peer-message.ts";
import { type SessionResult, summaryHash } from "./result.ts";

interface OpenFile {
  index: number;
  entry: ManifestEntry;
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
  const { locks } = shared;
  const peerFeatures = await exchangeHello(channel, "receiver");
  const first = await channel.expect();
  if (first.kind !== "control" || first.msg.type !== "offer") throw new XferError("protocol", "expected an offer");
  const entries = first.msg.entries;
  const offer = offerEvent(channel.remote, entries);
  emit(offer);
  if (shared.approve && !(await shared.approve(offer))) {
    await channel.send({ type: "reject", code: "rejected", message: DECLINED_MESSAGE });
    await channel.end().catch(() => {});
    throw new XferError("rejected", DECLINED_MESSAGE);
  }
  const paths = entries.map((e) => e.path);
  let takenOver = false;
  const holder: LockHolder = {
    silentForMs: () => channel.silentForMs(),
    abort: (r) => {
      takenOver = true;
      channel.destroy(r);
    },
  };
  if (!(await locks.lock(paths, holder))) {
    await channel.send({ type: "reject", code: "busy", message: BUSY_MESSAGE });
    throw new XferError("busy", BUSY_MESSAGE);
  }
  try {
    let prepared: PreparedFiles;
    const created: ManifestEntry[] = [];
    let refused: Map<number, Refusal>;
    try {
      refused = peerFeatures.includes(FEATURE_REFUSE) && target.refusals ? await target.refusals(entries) : new Map();
      prepared = await target.prepare(entries, { resume: true, refused: new Set(refused.keys()) });
      for (const [index, entry] of entries.entries())
        if (entry.kind === "dir" && !refused.has(index) && (await target.makeDir(entry))) created.push(entry);
    } catch (err) {
      const e = toXferError(err);
      await channel.send({ type: "reject", code: e.code, message: forPeer(e.message) }).catch(() => {});
      await channel.end().catch(() => {});
      throw e;
    }
    const refusedList = [...refused].map(([index, r]) => ({ index, ...r }));
    await channel.sendFrame(encodeAcceptFrame(prepared, refusedList));
    for (const r of refusedList) emit({ event: "file-failed", path: entries[r.index]!.path, ...r });
    const result = await receiveFiles(channel, target, entries, prepared, {
      created,
      emit,
      acknowledge: peerFeatures.includes(FEATURE_RECEIVED),
      refused: new Set(refused.keys()),
    });
    return {
      ...result,
      failures: [...refusedList.map(({ code, message }) => ({ code, message })), ...result.failures],
    };
  } catch (err) {
    throw takenOver ? new XferError("taken-over", TAKEN_OVER_MESSAGE) : err;
  } finally {
    locks.unlock(paths, holder);
  }
}

/** What receiveFiles needs to know of the session beyond its files. */
interface ReceivingSession {
  /** Folders this session created (only they get the offered mode and time). */
  created: readonly ManifestEntry[];
  emit: EventSink;
  /** The sender asked for "received" messages (its hello's features). */
  acknowledge: boolean;
  /** Entries refused at the offer: nothing of them is made here. */
  refused: ReadonlySet<number>;
}

async function receiveFiles(
  channel: SessionChannel,
  target: ReceiveTarget,
  entries: readonly ManifestEntry[],
  prepared: PreparedFiles,
  { created, emit, acknowledge, refused: refusedIndices }: ReceivingSession,
): Promise<SessionResult> {
  // One total on both sides: every accepted file whole; what is already here counts as done.
  let total: number | null = 0;
  for (let index = 0; index < prepared.end; index++) {
    if (!prepared.has(index)) continue;
    const size = entries[index]?.size;
    total = size === null || total === null ? null : total + (size ?? 0);
  }
  const progress = new Progress(emit, total);
  let lastAck = performance.now();
  const hashes = new Map<string, string>();
  const failures: { code: string; message: string }[] = [];
  /** Files started in this session: each is written, and published, at most once. */
  const started = new Set<number>();
  const verdicts: ControlMessage[] = [];
  const sendVerdicts = async () => {
    if (verdicts.length) await channel.sendAll(verdicts.splice(0));
  };
  const batch = new PublishBatch(sendVerdicts);
  let current: OpenFile | null = null;
  try {
    for (;;) {
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
        case "file": {
          if (current) throw new XferError("protocol", "peer started a file before ending the previous one");
          const prep = prepared.get(msg.index);
          const entry = entries[msg.index];
          if (!prep || !entry)
            throw new XferError("protocol", `peer started file #${msg.index}, which was not accepted`);
          if (started.has(msg.index)) throw new XferError("protocol", `peer sent '${entry.path}' a second time`);
          started.add(msg.index);
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
          current = { index: msg.index, entry, sink, offset: msg.offset, received: 0 };
          break;
        }
        case "file-end": {
          if (!current || current.index !== msg.index)
            throw new XferError("protocol", "file-end for a file not started");
          const done: OpenFile = current;
          current = null;
          let commit: Commit | null = null;
          try {
            if (done.sink) commit = await done.sink.finish(msg.size, msg.hash);
            else if (msg.size !== done.entry.size || (await prepared.get(done.index)?.existingHash?.()) !== msg.hash)
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
          hashes.set(done.entry.path, msg.hash);
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
            verdicts.push({ type: "file-ok", index: done.index, skipped: done.sink === null });
          };
          if (commit) await batch.add(commit, published);
          else {
            published();
            await sendVerdicts();
          }
          break;
        }
        case "done": {
          await batch.drain();
          progress.flush();
          let missing = -failures.length;
          for (const i of prepared.keys()) if (!hashes.has(entries[i]!.path)) missing++;
          if (missing > 0) failures.push({ code: "incomplete", message: `${missing} offered file(s) were not sent` });
          // Links after every file, like tar: no file is ever written through one. Before the folders'
          // modes and times: a link changes its folder's mtime, and a read-only folder takes none.
          for (const [index, entry] of entries.entries()) {
            if (entry.kind !== "symlink" || refusedIndices.has(index)) continue;
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
          await target.finishDirs(created);
          await channel.send({
            type: "summary",
            files: hashes.size,
            bytes: progress.transferred,
            failed: failures.length + refusedIndices.size,
          });
          await channel.end();
          return {
            files: hashes.size,
            failures,
            bytes: progress.transferred,
            seconds: progress.elapsedSeconds(),
            hash: await summaryHash(hashes),
          };
        }
        case "error":
          throw peerAbort(msg);
        default:
          throw new XferError("protocol", `unexpected '${msg.type}' from sender`);
      }
    }
  } catch (err) {
    const e = toXferError(err);
    if (current?.sink) await current.sink.abandon();
    await batch.abandon();
    // Tell the sender why, unless the connection itself is what failed.
    if (e.code !== "peer-gone")
      await channel.send({ type: "error", code: e.code, message: forPeer(e.message) }).catch(() => {});
    throw e;
  }
}
