/**
 * The receiving side of a datagram session: accept an offer (answering repeats), place every data
 * datagram where it belongs, and on END verify what is complete, keep what is not (with its missing
 * ranges), and answer with the exact loss report — repeated for as long as the sender repeats END.
 */
import type { DatagramConnection } from "../../plugin/api.ts";
import { toXferError, XferError } from "../errors.ts";
import type { EventSink } from "../events.ts";
import { Progress } from "../progress.ts";
import { type ManifestEntry, SESSION_PROTOCOL_VERSION } from "../protocol/messages.ts";
import type { PlacedSink, ReceiveTarget } from "../receive/receive-target.ts";
import type { LockHolder } from "../session/path-locks.ts";
import { forPeer } from "../session/peer-message.ts";
import { BUSY_MESSAGE, DECLINED_MESSAGE, offerEvent, type ReceiverShared } from "../session/receiver.ts";
import { type SessionResult, summaryHash } from "../session/result.ts";
import { encodeControl } from "./codec.ts";
import { DatagramInbox } from "./control.ts";
import type { DgMessage, DgReport } from "./messages.ts";
import {
  DatagramReceiverState,
  type DgEndMessage,
  type DgOfferMessage,
  IDLE_MS,
  type ReceiverAction,
} from "./receiver-state.ts";
import { reportEvent } from "./report.ts";
import { Coverage, rangeBytes } from "./tally.ts";

export interface DatagramReceiveOptions {
  /** Publish incomplete files anyway (holes are zero bytes), with their missing ranges beside them. */
  allowLoss: boolean;
  /**
   * What the seal dropped so far: forged (altered or not ours: `corrupt` in the report) and replayed
   * (a datagram already opened: the network's duplicates end here, `duplicated` in the report).
   */
  sealDrops?: () => { forged: number; replayed: number };
}

export async function receiveDatagramSession(
  conn: DatagramConnection,
  target: ReceiveTarget,
  emit: EventSink,
  opts: DatagramReceiveOptions,
  shared: ReceiverShared,
): Promise<SessionResult> {
  let locked: string[] = [];
  const inbox = new DatagramInbox(conn);
  let takenOver: Error | null = null;
  const holder: LockHolder = {
    silentForMs: () => inbox.silentForMs(),
    abort: (reason) => {
      takenOver = reason;
      conn.close();
    },
  };
  const state = new DatagramReceiverState(Date.now());
  let entries: ManifestEntry[] = [];
  const placed = new Map<number, PlacedSink>();
  const created: ManifestEntry[] = [];
  let progress: Progress | null = null;
  let answer: Uint8Array[] = [];
  let result: SessionResult | null = null;
  const reply = (msg: DgMessage) => encodeControl(state.session as number, msg, conn.maxDatagramSize);

  const accept = async (offer: DgOfferMessage) => {
    try {
      if (offer.version !== SESSION_PROTOCOL_VERSION)
        throw new XferError(
          "version",
          `sender speaks session protocol v${offer.version}, this is v${SESSION_PROTOCOL_VERSION}`,
        );
      if (!target.openPlaced)
        throw new XferError("rejected", "this receiver cannot place out-of-order data (standard output)");
      entries = offer.entries;
      const event = offerEvent(conn.remote, entries);
      emit(event);
      if (shared.approve && !(await shared.approve(event))) throw new XferError("rejected", DECLINED_MESSAGE);
      const paths = entries.map((e) => e.path);
      if (!(await shared.locks.lock(paths, holder))) throw new XferError("busy", BUSY_MESSAGE);
      locked = paths;
      const resume = await acceptOffer(target, entries, placed, state.coverage, created, emit);
      const still = new Map(resume.map((r) => [r.index, rangeBytes(r.missing)]));
      progress = new Progress(
        emit,
        entries.reduce((n, e, i) => n + (e.kind === "file" ? (still.get(i) ?? e.size ?? 0) : 0), 0),
      );
      answer = reply({ type: "dg-accept", resume });
    } catch (err) {
      const e = toXferError(err);
      await conn.send(reply({ type: "dg-reject", code: e.code, message: forPeer(e.message) }));
      throw e;
    }
    state.accepted();
    await conn.send(answer);
  };

  const perform = async (a: ReceiverAction) => {
    switch (a.do) {
      case "accept":
        return accept(a.offer);
      case "place": {
        const sink = placed.get(a.file);
        if (!sink) return;
        await sink.writeAt(a.payload, a.offset);
        state.placed(a.file, a.offset, a.payload.byteLength, Date.now());
        progress?.add(a.payload.byteLength);
        return;
      }
      case "finish": {
        progress?.flush();
        const done = await finish(a.end, entries, placed, state, created, target, opts, emit);
        answer = reply(done.report);
        result = done.result;
        if (progress) result.seconds = progress.elapsedSeconds();
        state.reportReady(Date.now());
        return conn.send(answer);
      }
      case "resend":
        return conn.send(answer);
    }
  };

  try {
    for (;;) {
      const wait = state.waitMs(Date.now());
      const d = wait > 0 ? await inbox.next(wait) : null;
      if (!d) {
        if (result) return result;
        if (takenOver) throw new XferError("taken-over", (takenOver as Error).message);
        throw new XferError("timeout", `the sender made no progress for ${IDLE_MS / 1000} s`);
      }
      for (const action of state.onDatagram(d, Date.now())) await perform(action);
    }
  } catch (err) {
    for (const f of placed.values()) await f.abandon();
    throw err;
  } finally {
    shared.locks.unlock(locked, holder);
  }
}

async function acceptOffer(
  target: ReceiveTarget,
  entries: ManifestEntry[],
  placed: Map<number, PlacedSink>,
  coverage: Map<number, Coverage>,
  created: ManifestEntry[],
  emit: EventSink,
): Promise<Resume[]> {
  const prepared = await target.prepare(entries, { resume: false });
  for (const p of prepared.values())
    if (p.accepted.existing)
      throw new XferError(
        "exists",
        `'${entries[p.accepted.index]?.path}' already exists here (use --overwrite to replace it)`,
      );
  for (const entry of entries) {
    if (entry.kind === "dir") {
      if (await target.makeDir(entry)) created.push(entry);
    } else if (entry.size === null) throw new XferError("protocol", `'${entry.path}' has no size`);
  }
  const resume: Resume[] = [];
  for (const [index, entry] of entries.entries()) {
    if (entry.kind !== "file") continue;
    const size = entry.size ?? 0;
    const resumed = (await target.resumePlaced?.(entry)) ?? null;
    if (resumed) {
      placed.set(index, resumed.file);
      coverage.set(index, Coverage.allBut(resumed.missing, size));
      resume.push({ index, missing: resumed.missing });
    } else {
      placed.set(index, await (target.openPlaced as NonNullable<ReceiveTarget["openPlaced"]>)(entry));
      coverage.set(index, new Coverage());
    }
    const have = resumed ? size - rangeBytes(resumed.missing) : 0;
    emit({ event: "file-start", index, path: entry.path, size: entry.size, offset: have });
  }
  return resume;
}

type Resume = Extract<DgMessage, { type: "dg-accept" }>["resume"][number];

async function finish(
  end: DgEndMessage,
  entries: ManifestEntry[],
  placed: Map<number, PlacedSink>,
  state: DatagramReceiverState,
  created: readonly ManifestEntry[],
  target: ReceiveTarget,
  opts: DatagramReceiveOptions,
  emit: EventSink,
): Promise<{ report: DgReport; result: SessionResult }> {
  const files: DgReport["files"] = [];
  const failures: SessionResult["failures"] = [];
  const hashes = new Map<string, string>();
  const missingFiles = new Map<number, string>();
  let bytes = 0;
  for (const f of end.files) {
    const entry = entries[f.index];
    const file = placed.get(f.index);
    if (!entry || !file || entry.size !== f.size) continue;
    const missing = state.coverage.get(f.index)?.missing(f.size) ?? [[0, f.size]];
    try {
      if (missing.length === 0) {
        await file.finish(f.hash);
        hashes.set(entry.path, f.hash);
        bytes += f.size;
        emit({
          event: "file-done",
          index: f.index,
          path: entry.path,
          bytes: f.size,
          hash: f.hash,
          resumedFrom: 0,
          skipped: false,
        });
        files.push({ index: f.index, status: "complete", missing: [] });
      } else {
        missingFiles.set(f.index, await file.keepIncomplete(missing, opts.allowLoss));
        const message = `'${entry.path}' is missing ${rangeBytes(missing)} bytes in ${missing.length} ranges`;
        if (!opts.allowLoss) failures.push({ code: "incomplete", message });
        emit({ event: "file-failed", index: f.index, path: entry.path, code: "incomplete", message });
        files.push({ index: f.index, status: "incomplete", missing });
      }
    } catch (err) {
      const e = toXferError(err);
      failures.push({ code: e.code, message: e.message });
      files.push({ index: f.index, status: "failed", missing, message: forPeer(e.message) });
    }
  }
  await target.finishDirs(created);
  const counts = state.tally.report(end.datagrams);
  const { forged, replayed } = opts.sealDrops?.() ?? { forged: 0, replayed: 0 };
  if (forged > 0)
    failures.unshift({
      code: "tampered",
      message: `${forged} datagram(s) failed authentication: altered or forged on the way`,
    });
  const report: DgReport = {
    type: "dg-report",
    ...counts,
    corrupt: counts.corrupt + forged,
    duplicated: counts.duplicated + replayed,
    files,
  };
  emit(reportEvent(report, entries, missingFiles));
  return {
    report,
    result: { files: hashes.size, failures, bytes, seconds: 0, hash: await summaryHash(hashes) },
  };
}
