/**
 * The sender's session logic without I/O: what to offer and in which pages, what the receiver's
 * answer to each page allows, and what each later message from the receiver means. It takes messages and returns what to do, so
 * every rule a hostile or buggy receiver can test is checked here, testable without sockets;
 * sender.ts does the reading, hashing and writing.
 */
import { XferError } from "../errors.ts";
import type { XferEvent } from "../events.ts";
import type { LocalEntry, Offered } from "../manifest.ts";
import { subset } from "../offered.ts";
import {
  type AcceptedFile,
  type ControlMessage,
  FEATURE_RECEIVED,
  FEATURE_SYMLINKS,
  MAX_PAGE_BYTES,
  MAX_PAGE_ENTRIES,
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

/** A page of the offer as it goes out: its JSON, at most MAX_PAGE_BYTES. */
export interface OutgoingPage {
  first: number;
  count: number;
  json: string;
}

/** The receiver's answer to one page: the files to send now, and what it refused. */
export interface PagePlan {
  files: PlannedFile[];
  events: XferEvent[];
  /** Bytes of refused files: counted in the head's total, they will not come. */
  notComing: number;
}

/** What the sender does with one message from the receiver while it streams. */
export type SenderAction =
  | { do: "emit"; event: XferEvent }
  | { do: "acknowledge"; bytes: number }
  | { do: "page"; plan: PagePlan }
  | { do: "finished"; confirmed: number };

/** Room in a page for its message's own text around the entries. */
const PAGE_OVERHEAD = 64;

export class SenderSession {
  readonly entries: Offered;
  /** Links the receiver cannot make: skipped, each with a warning. */
  readonly skipped: readonly string[];
  readonly failures: { code: string; message: string }[] = [];
  /** Bytes of every file offered (null: one has an unknown size, e.g. standard input). */
  readonly totalBytes: number | null;
  private readonly files: number;
  /** The receiver reports what it wrote: progress follows its counts instead of ours. */
  readonly acknowledged: boolean;
  /** Sent files waiting for their verdict. */
  private readonly sent = new Map<number, SentFile>();
  /** Entries whose verdict came (one byte each: 10^6 of them): each gets exactly one. */
  private readonly answered: Uint8Array;
  private confirmed = 0;
  /** Entries put in pages so far, and whether the end went out. */
  private paged = 0;
  private endSent = false;
  /** Pages sent and not yet answered, oldest first. */
  private readonly unanswered: { first: number; count: number }[] = [];

  /** `pageEntries`: at most this many entries a page (tests use small pages to span several). */
  constructor(
    offered: Offered,
    peerFeatures: readonly string[],
    private readonly pageEntries = MAX_PAGE_ENTRIES,
  ) {
    const links = peerFeatures.includes(FEATURE_SYMLINKS);
    this.entries = links ? offered : subset(offered, (i) => offered.kind(i) !== "symlink");
    const skipped: string[] = [];
    if (!links)
      for (let i = 0; i < offered.length; i++) if (offered.kind(i) === "symlink") skipped.push(offered.path(i));
    this.skipped = skipped;
    this.answered = new Uint8Array(this.entries.length);
    let total: number | null = 0;
    let files = 0;
    for (let i = 0; i < this.entries.length; i++) {
      if (this.entries.kind(i) !== "file") continue;
      files++;
      const size = this.entries.size(i);
      total = size === null || total === null ? null : total + size;
    }
    this.totalBytes = total;
    this.files = files;
    this.acknowledged = peerFeatures.includes(FEATURE_RECEIVED);
  }

  /** The offer's first message: the totals of the whole tree. */
  head(): MessageOf<"offer-head"> {
    return { type: "offer-head", entries: this.entries.length, files: this.files, bytes: this.totalBytes };
  }

  /**
   * The next page, as many entries as fit MAX_PAGE_ENTRIES and MAX_PAGE_BYTES; then the end
   * (offer-end), once; then null.
   */
  nextPage(): OutgoingPage | MessageOf<"offer-end"> | null {
    if (this.paged === this.entries.length) {
      if (this.endSent) return null;
      this.endSent = true;
      return { type: "offer-end" };
    }
    const first = this.paged;
    const parts: string[] = [];
    let bytes = PAGE_OVERHEAD + String(first).length;
    while (this.paged < this.entries.length && parts.length < this.pageEntries) {
      const json = JSON.stringify(this.entries.entry(this.paged));
      const size = Buffer.byteLength(json) + 1;
      if (parts.length > 0 && bytes + size > MAX_PAGE_BYTES) break;
      parts.push(json);
      bytes += size;
      this.paged++;
    }
    this.unanswered.push({ first, count: parts.length });
    return {
      first,
      count: parts.length,
      json: `{"type":"offer-page","first":${first},"entries":[${parts.join(",")}]}`,
    };
  }

  /** Every page sent and answered: no more plans will come. */
  get offerAnswered(): boolean {
    return this.endSent && this.unanswered.length === 0;
  }

  /**
   * The receiver's answer to the oldest page not yet answered: the files to send and, as events, the
   * ones it refused. A rejection or an accept that does not fit the page throws.
   */
  private onPageReply(msg: ControlMessage): PagePlan {
    if (msg.type === "reject") {
      const code = msg.code;
      throw new XferError(
        code === "unsafe-name" || code === "exists" || code === "busy" ? code : "rejected",
        `receiver refused: ${msg.message}`,
      );
    }
    if (msg.type !== "accept") throw new XferError("protocol", `expected accept, peer sent '${msg.type}'`);
    const page = this.unanswered.shift();
    if (!page || page.first !== msg.first)
      throw new XferError(
        "protocol",
        page
          ? `receiver answered the offer page at #${msg.first}, expected the one at #${page.first}`
          : "receiver answered an offer page that was not sent",
      );
    const end = page.first + page.count;
    const refused = new Set<number>();
    for (const r of msg.refused) {
      if (r.index < page.first || r.index >= end || refused.has(r.index))
        throw new XferError("protocol", `receiver refused entry #${r.index}, not one of its page (or twice)`);
      refused.add(r.index);
    }
    const accepted = checkAccept(this.entries, page.first, end, msg.files, refused);
    const events: XferEvent[] = [];
    let notComing = 0;
    for (const r of msg.refused) {
      const message = `receiver refused it: ${r.message}`;
      this.failures.push({ code: r.code, message });
      notComing += this.entries.kind(r.index) === "file" ? (this.entries.size(r.index) ?? 0) : 0;
      events.push({ event: "file-failed", index: r.index, path: this.pathOf(r.index), code: r.code, message });
    }
    const files: PlannedFile[] = [];
    for (let index = page.first; index < end; index++) {
      if (this.entries.kind(index) !== "file" || refused.has(index)) continue;
      const acc = accepted.get(index);
      if (!acc) throw new XferError("protocol", `receiver did not answer for '${this.entries.path(index)}'`);
      files.push({ index, local: this.entries.local(index), accepted: acc });
    }
    return { files, events, notComing };
  }

  /** Known before the file's end goes out: its verdict may arrive before the send returns. */
  sentFile(index: number, info: SentFile): void {
    this.sent.set(index, info);
  }

  /** A message from the receiver while files stream. Protocol violations throw. */
  onMessage(msg: ControlMessage): SenderAction[] {
    switch (msg.type) {
      case "accept":
      case "reject":
        return [{ do: "page", plan: this.onPageReply(msg) }];
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
        if (!this.offerAnswered)
          throw new XferError("protocol", "receiver ended the session before answering the offer");
        const unanswered = [...this.sent.keys()];
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
    return this.has(index) ? this.entries.path(index) : `#${index}`;
  }

  /** `index` (from the receiver) numbers an entry of the offer. */
  private has(index: number): boolean {
    return Number.isInteger(index) && index >= 0 && index < this.entries.length;
  }

  /** A verdict must be for a file whose end was sent, and the first for it. */
  private takeVerdict(index: number, kind: string): SentFile {
    // A link travels in the offer, so it may get a verdict (a failure to make it) without data.
    if (this.answered[index] === 1)
      throw new XferError("protocol", `receiver answered twice for '${this.pathOf(index)}'`);
    const info =
      this.sent.get(index) ??
      (this.has(index) && this.entries.kind(index) === "symlink" ? { bytes: 0, hash: "", resumedFrom: 0 } : undefined);
    if (!info) throw new XferError("protocol", `receiver sent ${kind} for entry #${index}, which was not sent`);
    this.sent.delete(index);
    this.answered[index] = 1;
    return info;
  }
}

/**
 * The receiver's accept of the page [first, end), checked: one answer for every file offered there
 * and nothing else, offsets within the file. A receiver that lies here gets a protocol error, not a
 * read past the end.
 */
function checkAccept(
  entries: Offered,
  first: number,
  end: number,
  files: readonly AcceptedFile[],
  refused: ReadonlySet<number>,
): Map<number, AcceptedFile> {
  const accepted = new Map<number, AcceptedFile>();
  for (const f of files) {
    const ours = Number.isInteger(f.index) && f.index >= first && f.index < end;
    if (!ours || entries.kind(f.index) !== "file" || refused.has(f.index))
      throw new XferError(
        "protocol",
        `receiver accepted entry #${f.index}, not a file of its page (or one it refused)`,
      );
    if (accepted.has(f.index))
      throw new XferError("protocol", `receiver answered twice for '${entries.path(f.index)}'`);
    const size = entries.size(f.index);
    const beyond = size === null ? f.offset > 0 : f.offset > size;
    if (beyond || (f.existing && f.offset !== size))
      throw new XferError(
        "protocol",
        `receiver claims ${f.offset} bytes of '${entries.path(f.index)}', which has ${size ?? "an unknown size"}`,
      );
    accepted.set(f.index, f);
  }
  return accepted;
}
