/**
 * The receiver's view of an offer sent in pages, without I/O: each page checked against the head's
 * totals and the pages before it, and the few pages whose files may still come. Files arrive in offer
 * order, so a page is forgotten once its files are over: what the receiver keeps of an offer is
 * bounded by the pages in flight, not by the tree (docs/PROTOCOL.md §1.3).
 */
import { XferError } from "../errors.ts";
import type { ManifestEntry, MessageOf } from "../protocol/messages.ts";

/** Pages the receiver holds whose files have not all come: a sender keeps PAGES_AHEAD in flight. */
export const MAX_PAGES_HELD = 16;

export interface HeldPage<P> {
  first: number;
  entries: readonly ManifestEntry[];
  /** What the receiver made of the page (set once it is checked). */
  prepared: P | null;
  /** Accepted files of the page that have not ended yet. */
  pending: number;
}

const protocol = (message: string) => new XferError("protocol", message);

export class OfferPages<P> {
  private seen = 0;
  private files = 0;
  private bytes = 0;
  private unknownSize = false;
  private ended = false;
  private readonly held: HeldPage<P>[] = [];
  /** Index of the last file started: files come in offer order, each once. */
  private lastStarted = -1;

  constructor(readonly head: MessageOf<"offer-head">) {}

  /** Every page has come (offer-end), and the totals met the head's. */
  get complete(): boolean {
    return this.ended;
  }

  /** Entries offered so far. */
  get offered(): number {
    return this.seen;
  }

  /** The next page: checked and held until its files are over. A page that does not fit throws. */
  page(first: number, entries: readonly ManifestEntry[]): HeldPage<P> {
    const { head } = this;
    if (this.ended) throw protocol("the sender sent entries after the end of its offer");
    if (first !== this.seen) throw protocol(`an offer page starts at entry #${first}, expected #${this.seen}`);
    if (this.seen + entries.length > head.entries)
      throw protocol(`the offer has more entries than the ${head.entries} its head announced`);
    for (const e of entries) {
      if (e.kind !== "file") continue;
      this.files++;
      if (e.size === null) this.unknownSize = true;
      else this.bytes += e.size;
    }
    if (this.files > head.files) throw protocol(`the offer has more files than the ${head.files} its head announced`);
    if (head.bytes !== null && (this.unknownSize || this.bytes > head.bytes))
      throw protocol(`the offer's files hold more than the ${head.bytes} bytes its head announced`);
    this.seen += entries.length;
    this.trim();
    if (this.held.length >= MAX_PAGES_HELD)
      throw protocol(`the sender offered more than ${MAX_PAGES_HELD} pages ahead of its files`);
    const page: HeldPage<P> = { first, entries, prepared: null, pending: 0 };
    this.held.push(page);
    return page;
  }

  /** offer-end: the entries, files and bytes must be what the head said. */
  end(): void {
    const { head } = this;
    if (this.ended) throw protocol("the sender ended its offer twice");
    const bytesMet = head.bytes === null ? this.unknownSize : !this.unknownSize && this.bytes === head.bytes;
    if (this.seen !== head.entries || this.files !== head.files || !bytesMet)
      throw protocol(
        `the offer ended with ${this.seen} entries, ${this.files} files and ${this.unknownSize ? "an unknown number of" : this.bytes} bytes; its head announced ${head.entries}, ${head.files} and ${head.bytes ?? "unknown"}`,
      );
    this.ended = true;
  }

  /**
   * A file starts: its entry and page, or undefined when `index` is not in a page held (never
   * offered, or its page is over). Earlier pages are over from now on.
   */
  start(index: number): HeldPage<P> | undefined {
    if (index <= this.lastStarted) return undefined;
    while (this.held.length > 1 && this.held[1]!.first <= index) this.held.shift();
    const page = this.held[0];
    if (!page || index < page.first || index >= page.first + page.entries.length) return undefined;
    this.lastStarted = index;
    return page;
  }

  /** Whether `index` already started (files come once each, in order). */
  startedBefore(index: number): boolean {
    return index <= this.lastStarted;
  }

  /** A started file ended (verified or failed): its page is over once all its files are. */
  fileEnded(page: HeldPage<P>): void {
    page.pending--;
    this.trim();
  }

  /** Forget the pages at the front that expect no more files. */
  private trim(): void {
    while (this.held.length > 0 && this.held[0]!.prepared !== null && this.held[0]!.pending <= 0) this.held.shift();
  }

  /** The receiver checked a page: it expects `pending` files of it. */
  checked(page: HeldPage<P>, prepared: P, pending: number): void {
    page.prepared = prepared;
    page.pending = pending;
    this.trim();
  }
}
