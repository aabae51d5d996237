/** Where a receiving session puts what it accepts: a directory (ReceiveDir) or standard output. */
import type { StreamingHasher } from "../hashing.ts";
import type { OfferedNames } from "../names.ts";
import type { AcceptedFile, ManifestEntry } from "../protocol/messages.ts";
import type { Commit } from "./publish-batch.ts";

/** What the receiver knows about one offered file after looking at its disk. */
export interface Prepared {
  accepted: AcceptedFile;
  /** Hash state over the resume prefix already present. */
  prefix: StreamingHasher | null;
  /** The final file exists (accepted.existing): its hash, computed only when the sender asks to compare. */
  existingHash?: () => Promise<string>;
}

/**
 * What prepare() found for the entries from `first` to `end` (an offer's page), by offered index, in
 * index order. Most files of a big tree are simply new here: those cost one byte each instead of two
 * objects and a map entry (measured with the rest of the huge-offer changes: docs/BENCHMARKS.md).
 */
export class PreparedFiles {
  /** 1: accepted as a new file; 2: see `other`; 3: already here, its size in `sizes`. */
  private readonly state: Uint8Array;
  private readonly other = new Map<number, Prepared>();
  /** Sizes of the files already here (made for the first one). */
  private sizes: Float64Array | null = null;

  /**
   * `hashExisting`: the hash of the final file already here for an index, for setExisting(); a
   * re-sent tree is all such files, and an object and a closure each, 16 pages of them held, were
   * most of what each full collection had to look at (docs/BENCHMARKS.md, issue 14).
   */
  constructor(
    entries: number,
    readonly first = 0,
    private readonly hashExisting?: (index: number, size: number) => Promise<string>,
  ) {
    this.state = new Uint8Array(entries);
  }

  /** The final file is here with `size` bytes, the offered size: the sender may prove it identical. */
  setExisting(index: number, size: number): void {
    if (!this.hashExisting) throw new Error("setExisting() needs hashExisting");
    this.sizes ??= new Float64Array(this.state.length);
    this.sizes[index - this.first] = size;
    this.state[index - this.first] = 3;
    this.other.delete(index);
  }

  /** Accepted from offset 0, nothing here yet. */
  setFresh(index: number): void {
    this.state[index - this.first] = 1;
    this.other.delete(index);
  }

  set(index: number, prepared: Prepared): void {
    this.state[index - this.first] = 2;
    this.other.set(index, prepared);
  }

  has(index: number): boolean {
    return (this.state[index - this.first] ?? 0) !== 0;
  }

  /** Accepted as a new file, nothing of it here: offset 0, no prefix. */
  isFresh(index: number): boolean {
    return this.state[index - this.first] === 1;
  }

  /** One past the highest index (loops over has() allocate nothing, unlike keys()). */
  get end(): number {
    return this.first + this.state.length;
  }

  get(index: number): Prepared | undefined {
    const state = this.state[index - this.first];
    if (state === 1) return { accepted: { index, offset: 0, existing: false }, prefix: null };
    if (state === 3) {
      const size = this.sizes![index - this.first]!;
      const hash = this.hashExisting!;
      return { accepted: { index, offset: size, existing: true }, prefix: null, existingHash: () => hash(index, size) };
    }
    return state === 2 ? this.other.get(index) : undefined;
  }

  *keys(): IterableIterator<number> {
    for (let i = 0; i < this.state.length; i++) if (this.state[i] !== 0) yield this.first + i;
  }

  *values(): IterableIterator<Prepared> {
    for (const i of this.keys()) yield this.get(i)!;
  }
}

/** Which page of an offer is checked (absent: the whole offer, in one). */
export interface PageOptions {
  /** Offer index of the page's first entry. */
  first?: number;
  /** The names of the pages before, to check this page's against (ReceiveDir.offerNames()). */
  names?: OfferedNames;
}

export interface PrepareOptions extends PageOptions {
  /** Look at part files to resume them (stream sessions); datagram sessions always start afresh. */
  resume: boolean;
  /** Indices refused one by one (see refusals()): left out of the check. */
  refused?: ReadonlySet<number>;
  /** Bytes earlier pages still need on this disk (accepted, not yet written). */
  pendingBytes?: number;
}

/** Why one entry is refused while the others are taken. */
export interface Refusal {
  code: string;
  message: string;
}

export interface FileSink {
  write(bytes: Uint8Array): Promise<void>;
  /**
   * Verify size and hash; throws XferError("integrity") on mismatch. What it returns makes the
   * verified file durable and then visible under its final name (src/core/receive/publish-batch.ts).
   */
  finish(size: number, hash: string): Promise<Commit>;
  /** Stop without publishing, keeping what can be resumed. */
  abandon(): Promise<void>;
}

export interface ReceiveTarget {
  /**
   * Check an offer, leaving out `options.refused`; throws an XferError to reject it. Writes nothing.
   */
  prepare(entries: readonly ManifestEntry[], options: PrepareOptions): Promise<PreparedFiles>;
  /**
   * Entries that can be refused one by one while the rest arrives (names the filesystem cannot hold
   * side by side, unsafe links), by index: why. Absent: nothing is refused singly.
   */
  refusals?(entries: readonly ManifestEntry[], options?: PageOptions): Promise<Map<number, Refusal>>;
  /** A fresh check of one offer's names, for its pages (absent: each page is checked alone). */
  offerNames?(): OfferedNames;
  /** Make an offered symbolic link, after every file; absent: links are not made here. */
  makeLink?(entry: ManifestEntry): Promise<void>;
  /** True when this call created the folder. */
  makeDir(entry: ManifestEntry): Promise<boolean>;
  openFile(entry: ManifestEntry, offset: number, prefix: StreamingHasher | null): Promise<FileSink>;
  /** Give the folders a session created their offered mode and time (only those: see ReceiveDir). */
  finishDirs(created: readonly ManifestEntry[]): Promise<void>;
  /** Files written at any offset (datagram transports). Absent where order matters (standard output). */
  openPlaced?(entry: ManifestEntry): Promise<PlacedSink>;
  /** An incomplete part of exactly this file from an earlier datagram session, with its missing ranges. */
  resumePlaced?(entry: ManifestEntry): Promise<{ file: PlacedSink; missing: [number, number][] } | null>;
  /** A session ended (whatever its outcome): tidy what the target keeps across sessions. */
  settle?(): void;
}

/** A file written at any offset, as datagrams arrive; nothing has its final name until finish(). */
export interface PlacedSink {
  /** Write `bytes` at `offset`; resolves once queued. Beyond the offered size it throws. */
  writeAt(bytes: Uint8Array, offset: number): Promise<void>;
  /** Every byte arrived: verify against `hash` (over what is on disk) and publish. */
  finish(hash: string): Promise<void>;
  /** Bytes are missing: keep the part (or publish it with holes, `publish`); returns the record's path. */
  keepIncomplete(missing: [number, number][], publish: boolean): Promise<string>;
  /** The session failed: close, keeping the part for a resume. */
  abandon(): Promise<void>;
}
