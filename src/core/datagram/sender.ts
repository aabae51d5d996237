/**
 * The sending side of a datagram session: offer (repeated until answered), every file's bytes as
 * self-placing data datagrams sent once, then END (repeated until the receiver's report arrives).
 */
import { open } from "node:fs/promises";
import type { DatagramConnection } from "../../plugin/api.ts";
import { toXferError, XferError } from "../errors.ts";
import type { EventSink } from "../events.ts";
import { newHasher } from "../hashing.ts";
import { assertUnchanged, type LocalEntry } from "../manifest.ts";
import { Progress } from "../progress.ts";
import { SESSION_PROTOCOL_VERSION } from "../protocol/messages.ts";
import type { SessionResult } from "../session/result.ts";
import { summaryHash } from "../session/result.ts";
import { SOFTWARE } from "../version.ts";
import { DATA_HEADER, encodeData, encodeParity, PARITY_HEADER } from "./codec.ts";
import { DatagramInbox, exchange } from "./control.ts";
import { encodeUnit, FecEncoder, type FecParams, PLACEMENT_BYTES } from "./fec.ts";
import type { DgReport } from "./messages.ts";
import { reportEvent } from "./report.ts";

const OFFER_TIMEOUT_MS = 10_000;
const END_TIMEOUT_MS = 30_000;
const READ_BYTES = 1 << 20;
/** Datagrams handed to the transport per send() call (it paces them). */
const BATCH = 64;

export async function sendDatagramSession(
  conn: DatagramConnection,
  entries: readonly LocalEntry[],
  emit: EventSink,
  opts: { allowLoss: boolean; fec?: FecParams },
): Promise<SessionResult> {
  const session = (Math.random() * 2 ** 32) >>> 0;
  // A parity datagram carries a whole unit (placement + a full chunk): leave it room.
  const chunk = conn.maxDatagramSize - (opts.fec ? PARITY_HEADER + PLACEMENT_BYTES : DATA_HEADER);
  const fec = opts.fec ? new FecEncoder(opts.fec, PLACEMENT_BYTES + chunk) : null;
  const inbox = new DatagramInbox(conn);
  const reply = await exchange(
    conn,
    inbox,
    session,
    {
      type: "dg-offer",
      version: SESSION_PROTOCOL_VERSION,
      software: SOFTWARE,
      entries: entries.map((e) => e.entry),
      chunk,
      fec: opts.fec,
    },
    ["dg-accept", "dg-reject"],
    OFFER_TIMEOUT_MS,
    "the offer",
  );
  if (reply.type === "dg-reject")
    throw new XferError(reply.code === "version" ? "version" : "rejected", `receiver refused: ${reply.message}`);

  const files = entries.flatMap((e, index) => (e.entry.kind === "file" ? [{ index, local: e }] : []));
  // Files the receiver holds in part: only their missing ranges are sent (the hash still covers all).
  const resume = new Map(reply.resume.map((r) => [r.index, r.missing]));
  const toSend = (index: number, size: number) => {
    const missing = resume.get(index);
    return missing ? new RangeCursor(missing).within(0, size) : size;
  };
  const total = files.reduce((n, f) => n + toSend(f.index, f.local.entry.size ?? 0), 0);
  const progress = new Progress(emit, total);
  const hashes = new Map<string, string>();
  const ends: { index: number; size: number; hash: string }[] = [];
  let seq = 0;
  for (const { index, local } of files) {
    if (local.source.kind !== "file") continue;
    const size = local.entry.size ?? 0;
    const ranges = resume.get(index);
    const missing = ranges ? new RangeCursor(ranges) : null;
    const counted = ranges ? new RangeCursor(ranges) : null;
    emit({ event: "file-start", index, path: local.entry.path, size, offset: size - toSend(index, size) });
    progress.file = local.entry.path;
    const hasher = await newHasher();
    const fh = await open(local.source.path, "r").catch((err: unknown) => {
      throw toXferError(err, `cannot read '${local.source.kind === "file" ? local.source.path : ""}'`);
    });
    try {
      // Whole datagrams per read, so only a file's last datagram is short.
      const block = new Uint8Array(Math.max(1, Math.floor(READ_BYTES / chunk)) * chunk);
      let batch: Uint8Array[] = [];
      for (let pos = 0; pos < size; ) {
        const { bytesRead } = await fh.read(block, 0, Math.min(block.byteLength, size - pos), pos);
        if (bytesRead === 0) throw new XferError("source-unreadable", `'${local.entry.path}' shrank while being sent`);
        const data = block.subarray(0, bytesRead);
        hasher.update(data);
        for (let at = 0; at < bytesRead; at += chunk) {
          const payload = data.subarray(at, Math.min(bytesRead, at + chunk));
          if (missing && missing.within(pos + at, pos + at + payload.byteLength) === 0) continue;
          batch.push(encodeData(session, seq++, index, pos + at, payload));
          if (fec)
            for (const [b, j, unit] of fec.add(encodeUnit(index, pos + at, payload, PLACEMENT_BYTES + chunk)))
              batch.push(encodeParity(session, b, j, unit));
          if (batch.length >= BATCH) {
            await conn.send(batch);
            batch = [];
          }
        }
        pos += bytesRead;
        progress.add(counted ? counted.within(pos - bytesRead, pos) : bytesRead);
      }
      if (batch.length) await conn.send(batch);
      assertUnchanged(fh.fd, local.entry, local.source.path);
    } finally {
      await fh.close();
    }
    const hash = hasher.digest();
    hashes.set(local.entry.path, hash);
    ends.push({ index, size, hash });
  }
  if (fec) {
    const tail = fec.flush().map(([b, j, unit]) => encodeParity(session, b, j, unit));
    if (tail.length) await conn.send(tail);
  }
  progress.flush();
  const report: DgReport = await exchange(
    conn,
    inbox,
    session,
    { type: "dg-end", datagrams: seq, files: ends },
    ["dg-report"],
    END_TIMEOUT_MS,
    "the end of the transfer",
  );
  emit(
    reportEvent(
      report,
      entries.map((e) => e.entry),
    ),
  );
  return resultOf(report, entries, ends, hashes, progress, opts.allowLoss);
}

/**
 * Walks sorted byte ranges alongside a file read front to back: each question costs O(1) amortised,
 * however many ranges a resumed part has.
 */
class RangeCursor {
  private i = 0;
  private readonly ranges: readonly [number, number][];
  constructor(ranges: readonly [number, number][]) {
    this.ranges = [...ranges].sort((a, b) => a[0] - b[0]);
  }

  /** Bytes of [start, end) inside the ranges; `start` never decreases between calls. */
  within(start: number, end: number): number {
    while (this.i < this.ranges.length && this.ranges[this.i]![1] <= start) this.i++;
    let n = 0;
    for (let j = this.i; j < this.ranges.length && this.ranges[j]![0] < end; j++)
      n += Math.min(this.ranges[j]![1], end) - Math.max(this.ranges[j]![0], start);
    return n;
  }
}

function resultOf(
  report: DgReport,
  entries: readonly LocalEntry[],
  ends: readonly { index: number }[],
  hashes: Map<string, string>,
  progress: Progress,
  allowLoss: boolean,
): Promise<SessionResult> {
  const failures: SessionResult["failures"] = [];
  // Success is one "complete" verdict per file sent: a report that skips, repeats or invents files
  // is the receiver's error, never a success.
  const sent = new Set(ends.map((e) => e.index));
  const seen = new Set<number>();
  for (const f of report.files)
    if (!sent.has(f.index) || seen.has(f.index))
      throw new XferError("protocol", `the receiver's report names entry #${f.index} wrongly (not sent, or twice)`);
    else seen.add(f.index);
  const unanswered = ends.filter((e) => !seen.has(e.index));
  if (unanswered.length > 0)
    failures.push({
      code: "incomplete",
      message: `the receiver's report has no verdict for ${unanswered.length} file(s), e.g. '${entries[unanswered[0]!.index]?.entry.path}'`,
    });
  if (report.corrupt > 0)
    failures.push({
      code: "tampered",
      message: `the receiver dropped ${report.corrupt} datagram(s) that failed authentication (altered on the way)`,
    });
  for (const f of report.files) {
    const path = entries[f.index]?.entry.path ?? `#${f.index}`;
    if (f.status === "failed") failures.push({ code: "integrity", message: f.message ?? `'${path}' failed` });
    else if (f.status === "incomplete" && !allowLoss)
      failures.push({
        code: "incomplete",
        message: `'${path}' arrived incomplete (${f.missing.length} missing ranges)`,
      });
  }
  return summaryHash(hashes).then((hash) => ({
    files: report.files.filter((f) => f.status === "complete").length,
    failures,
    bytes: progress.transferred,
    seconds: progress.elapsedSeconds(),
    hash,
  }));
}
