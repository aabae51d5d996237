/**
 * The sender's session logic without I/O: what to offer, what the receiver's accept allows, and
 * what each later message from the receiver means. It takes messages and returns what to do, so
 * every rule a hostile or buggy receiver can test is checked here, testable without sockets;
 * sender.ts does the reading, hashing and writing.
 */
import { XferError } from "../errors.ts";
import type { XferEvent } from "../events.ts";
import type { LocalEntry } from "../manifest.ts";
import {
  type AcceptedFile,
  type ControlMessage,
  FEATURE_RECEIVED,
  FEATURE_SYMLINKS,
  type ManifestEntry,
  type MessageOf,
} from "../protocol/messages.ts";
import { peerAbort } from "./hello.ts";

/** What was sent of a file, to report with the receiver's verdict. */
export interface SentFile {
  bytes: number;
  hash: string;
  resumedFrom: number;
}

/** One file to stream, in offer order, with what the receiver said it has of it. */
export interface PlannedFile {
  index: number;
  local: LocalEntry;
  accepted: AcceptedFile;
}

export interface SendPlan {
  files: PlannedFile[];
  /** Bytes of the files to send (null when one has an unknown size, e.g. standard input). */
  total: number | null;
  /** The receiver reports what it wrote: progress follows its counts instead of ours. */
  acknowledged: boolean;
}

/** What the sender does with one message from the receiver while it streams. */
export type SenderAction =
  | { do: "emit"; event: XferEvent }
  | { do: "acknowledge"; bytes: number }
  | { do: "finished"; confirmed: number };

export class SenderSession {
  readonly entries: readonly LocalEntry[];
  /** Links the receiver cannot make: skipped, each with a warning. */
  readonly skipped: readonly string[];
  readonly failures: { code: string; message: string }[] = [];
  private readonly sent = new Map<number, SentFile>();
  /** Files whose verdict came: each gets exactly one. */
  private readonly answered = new Set<number>();
  private confirmed = 0;

  constructor(
    offered: readonly LocalEntry[],
    private readonly peerFeatures: readonly string[],
  ) {
    const links = peerFeatures.includes(FEATURE_SYMLINKS);
    this.entries = links ? offered : offered.filter((e) => e.entry.kind !== "symlink");
    this.skipped = links ? [] : offered.filter((e) => e.entry.kind === "symlink").map((e) => e.entry.path);
  }

  offer(): MessageOf<"offer"> {
    return { type: "offer", entries: this.entries.map((e) => e.entry) };
  }

  /**
   * The receiver's answer to the offer: the files to send and, as events, the ones it refused.
   * A rejection or an accept that does not fit the offer throws.
   */
  onOfferReply(msg: ControlMessage): { plan: SendPlan; events: XferEvent[] } {
    if (msg.type === "reject" || msg.type === "error") {
      const code = msg.code;
      throw new XferError(
        code === "unsafe-name" || code === "exists" || code === "busy" ? code : "rejected",
        `receiver refused: ${msg.message}`,
      );
    }
    if (msg.type !== "accept") throw new XferError("protocol", `expected accept, peer sent '${msg.type}'`);
    const refused = new Set(msg.refused.map((r) => r.index));
    const accepted = checkAccept(this.entries, msg.files, refused);
    const events: XferEvent[] = [];
    for (const r of msg.refused) {
      const message = `receiver refused it: ${r.message}`;
      this.failures.push({ code: r.code, message });
      events.push({ event: "file-failed", index: r.index, path: this.pathOf(r.index), code: r.code, message });
    }
    const files: PlannedFile[] = [];
    for (const [index, local] of this.entries.entries()) {
      if (local.entry.kind !== "file" || refused.has(index)) continue;
      const acc = accepted.get(index);
      if (!acc) throw new XferError("protocol", `receiver did not answer for '${local.entry.path}'`);
      files.push({ index, local, accepted: acc });
    }
    const sizes = files.map((f) => f.local.entry.size);
    const total = sizes.includes(null) ? null : sizes.reduce<number>((a, b) => a + (b ?? 0), 0);
    return { plan: { files, total, acknowledged: this.peerFeatures.includes(FEATURE_RECEIVED) }, events };
  }

  /** Known before the file's end goes out: its verdict may arrive before the send returns. */
  sentFile(index: number, info: SentFile): void {
    this.sent.set(index, info);
  }

  /** A message from the receiver while files stream. Protocol violations throw. */
  onMessage(msg: ControlMessage): SenderAction[] {
    switch (msg.type) {
      case "file-ok": {
        const info = this.takeVerdict(msg.index, "file-ok");
        this.confirmed++;
        const path = this.pathOf(msg.index);
        return [{ do: "emit", event: { event: "file-done", index: msg.index, path, skipped: msg.skipped, ...info } }];
      }
      case "file-failed": {
        this.takeVerdict(msg.index, "file-failed");
        this.failures.push({ code: msg.code, message: `receiver: ${msg.message}` });
        const path = this.pathOf(msg.index);
        return [
          { do: "emit", event: { event: "file-failed", index: msg.index, path, code: msg.code, message: msg.message } },
        ];
      }
      case "received":
        return [{ do: "acknowledge", bytes: msg.bytes }];
      case "summary": {
        // Success is what the receiver confirmed file by file, never what its summary claims.
        const unanswered = [...this.sent.keys()].filter((i) => !this.answered.has(i));
        if (unanswered.length > 0)
          throw new XferError(
            "protocol",
            `receiver ended the session without a verdict for ${unanswered.length} file(s), e.g. '${this.pathOf(unanswered[0] as number)}'`,
          );
        if (msg.files !== this.confirmed)
          throw new XferError("protocol", `receiver claims ${msg.files} file(s) but confirmed ${this.confirmed}`);
        return [{ do: "finished", confirmed: this.confirmed }];
      }
      case "error":
        throw peerAbort(msg);
      default:
        throw new XferError("protocol", `unexpected '${msg.type}' from receiver`);
    }
  }

  private pathOf(index: number): string {
    return this.entries[index]?.entry.path ?? `#${index}`;
  }

  /** A verdict must be for a file whose end was sent, and the first for it. */
  private takeVerdict(index: number, kind: string): SentFile {
    // A link travels in the offer, so it may get a verdict (a failure to make it) without data.
    const info =
      this.sent.get(index) ??
      (this.entries[index]?.entry.kind === "symlink" ? { bytes: 0, hash: "", resumedFrom: 0 } : undefined);
    if (!info) throw new XferError("protocol", `receiver sent ${kind} for entry #${index}, which was not sent`);
    if (this.answered.has(index))
      throw new XferError("protocol", `receiver answered twice for '${this.pathOf(index)}'`);
    this.answered.add(index);
    return info;
  }
}

/**
 * The receiver's accept, checked: one answer for every file offered and nothing else, offsets
 * within the file. A receiver that lies here gets a protocol error, not a read past the end.
 */
function checkAccept(
  entries: readonly LocalEntry[],
  files: readonly AcceptedFile[],
  refused: ReadonlySet<number>,
): Map<number, AcceptedFile> {
  const accepted = new Map<number, AcceptedFile>();
  for (const f of files) {
    const entry: ManifestEntry | undefined = entries[f.index]?.entry;
    if (entry?.kind !== "file" || refused.has(f.index))
      throw new XferError("protocol", `receiver accepted entry #${f.index}, not a file offered (or one it refused)`);
    if (accepted.has(f.index)) throw new XferError("protocol", `receiver answered twice for '${entry.path}'`);
    const beyond = entry.size === null ? f.offset > 0 : f.offset > entry.size;
    if (beyond || (f.existing && f.offset !== entry.size))
      throw new XferError(
        "protocol",
        `receiver claims ${f.offset} bytes of '${entry.path}', which has ${entry.size ?? "an unknown size"}`,
      );
    accepted.set(f.index, f);
  }
  return accepted;
}
