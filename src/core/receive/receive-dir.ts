/**
 * The receiver's directory: where offered entries may land, what is already there (resume), and
 * the only code that creates files. Data goes to `name.xfer-part`; the final name appears only
 * after the hash matched, by an atomic rename.
 *
 * Everything here is opened without following links, and checked to be where it should be after
 * opening (see open-inside.ts), so a link or folder swapped in by someone else never redirects a write.
 *
 * Longer than our ~400-line rule on purpose: the checks of a name (its folders, links, foreign
 * parts, free space) and the opening of what it names stay in one class, because splitting them
 * would let a caller open a path the checks never saw. What could leave did: part records
 * (part-record.ts), publishing (publish-batch.ts), the files themselves (incoming-file.ts,
 * placed-file.ts), name folding (name-folding.ts).
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  ftruncateSync,
  futimesSync,
  lstatSync,
  lutimesSync,
  readFileSync,
  readlinkSync,
  type Stats,
  symlinkSync,
  unlinkSync,
} from "node:fs";
import { lstat, mkdir, realpath, statfs } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { toXferError, XferError } from "../errors.ts";
import { hashFilePrefix } from "../hash-file.ts";
import { newHasher, type StreamingHasher } from "../hashing.ts";
import { OfferedNames, type OfferedNamesCheck, PART_SUFFIX, printable, unsafeLinkReason } from "../names.ts";
import type { ManifestEntry } from "../protocol/messages.ts";
import { FolderListing } from "./folder-listing.ts";
import { IncomingFile, partCreateMode } from "./incoming-file.ts";
import { probeFolding } from "./name-folding.ts";
import { CAN_READ_BACK, openInsideSync } from "./open-inside.ts";
import { identityOf, PartRecord, RECORD_DIR } from "./part-record.ts";
import { MISSING_SUFFIX, PlacedFile, type RelativeDir } from "./placed-file.ts";
import {
  type PageOptions,
  type Prepared,
  PreparedFiles,
  type PrepareOptions,
  type ReceiveTarget,
  type Refusal,
} from "./receive-target.ts";

/** The record of a part's missing ranges, as PlacedFile.keepIncomplete writes it. */
const MissingRecord = z.object({
  file: z.string(),
  size: z.number().int().nonnegative(),
  mtimeMs: z.number(),
  missing: z.array(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])),
});
/** A record larger than this is not one of ours (a million ranges fit). */
const MAX_MISSING_RECORD_CHARS = 64 << 20;

/** A new part: created by this very open (O_EXCL), never one someone put there. */
const PART_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;

/** Free space an offer must leave on the receiving disk (other programs need some too); at most 5 % of a small disk. */
export const DISK_HEADROOM_BYTES = 64 << 20;

export interface ReceiveDirOptions {
  overwrite: boolean;
}

export class ReceiveDir implements ReceiveTarget, RelativeDir {
  /** The folder with links resolved once: what every opened handle must lie inside. */
  private realRoot: Promise<string> | null = null;
  /** Which parts here are ours: only those are resumed into, hashed or cut (part-record.ts). */
  private readonly parts: PartRecord;
  /**
   * Folders already seen to be real folders inside root, for opening parts: a tree of small files
   * looked up every folder above every file again (two lstats a file of ~13 calls). Only where the
   * opened handle's path is read back (openInsideSync): a folder swapped for a link since it was
   * seen is caught there, after the open, and the part taken back. Only folders that exist are
   * remembered: one missing now may be made by a later page. Forgotten after each session.
   */
  private readonly seenFolders = new Map<string, true>();
  private readonly folderMemo = CAN_READ_BACK ? existingOnly(this.seenFolders) : undefined;

  constructor(
    readonly root: string,
    private readonly opts: ReceiveDirOptions,
  ) {
    this.parts = new PartRecord(root);
  }

  /** The names of one offer, page after page: what checks them against each other and this folder's filesystem. */
  offerNames(): OfferedNames {
    return new OfferedNames(probeFolding(this.root));
  }

  /**
   * Validate an offer (or one page of it: `options.first`, `options.names`) against this directory.
   * Throws an XferError (sent to the peer as a reject) when any name is unsafe, a file would be
   * replaced without --overwrite, or the disk cannot hold it; writes nothing.
   */
  async prepare(entries: readonly ManifestEntry[], options: PrepareOptions): Promise<PreparedFiles> {
    const refused = options.refused ?? new Set<number>();
    const first = options.first ?? 0;
    const { fatal, collisions } = this.checkNames(entries, first, options.names);
    if (fatal) throw new XferError("unsafe-name", `refusing offered name '${printable(fatal.name)}': ${fatal.reason}`);
    for (const [index, reason] of collisions)
      if (!refused.has(index))
        throw new XferError(
          "unsafe-name",
          `refusing offered name '${printable(entries[index - first]!.path)}': ${reason}`,
        );
    // No hash goes to the peer: it sends its own and we compare (an offer must not learn the BLAKE3
    // of a file it does not have). Hashed only if the sender asks for the comparison.
    const prepared = new PreparedFiles(entries.length, first, async (index, size) =>
      (await hashFilePrefix(this.pathOf(entries[index - first]!.path), size, { noFollow: true })).digest(),
    );
    const known = this.knownFolders(options.names);
    const listing = this.listingOf(entries, options.names);
    for (let at = 0; at < entries.length; at++) {
      const entry = entries[at]!;
      const index = first + at;
      if (refused.has(index)) continue;
      if (entry.kind === "symlink") {
        const why = unsafeLinkReason(entry.path, entry.target);
        if (why) throw new XferError("unsafe-name", `refusing link '${printable(entry.path)}': ${why}`);
        continue;
      }
      const existing = this.lookUp(entry.path, known, listing);
      if (existing === undefined) {
        if (entry.kind === "file") prepared.setFresh(index);
        continue;
      }
      if (entry.kind === "dir") {
        if (existing && !existing.isDirectory())
          throw new XferError("exists", `'${entry.path}' exists here and is not a folder`);
        continue;
      }
      const p = await this.prepareFile(index, entry, existing, options.resume, listing);
      if (p === "existing") prepared.setExisting(index, entry.size!);
      else if (p) prepared.set(index, p);
      else prepared.setFresh(index);
    }
    await this.checkSpace(entries, prepared, options.pendingBytes ?? 0);
    return prepared;
  }

  /**
   * Which folders under the root exist, by path, for one offer's check: kept across its pages (a
   * page's folders were made before the next page is checked, so a folder looked up as missing is
   * looked up again: only those found are kept).
   */
  private readonly folderCache = new WeakMap<OfferedNames, Map<string, boolean>>();

  /** Folders of this offer too big to list for a page (folder-listing.ts). */
  private readonly unlisted = new WeakMap<OfferedNames, Set<string>>();
  /** The listing for one page's check (refusals() and prepare() ask about the same page). */
  private lastListing: { entries: readonly ManifestEntry[]; listing: FolderListing | undefined } | null = null;

  /** Names a page's check may skip looking up; none where this filesystem folds names. */
  private listingOf(entries: readonly ManifestEntry[], names: OfferedNames | undefined): FolderListing | undefined {
    if (this.lastListing?.entries !== entries) {
      const folding = probeFolding(this.root);
      let listing: FolderListing | undefined;
      if (names && !folding.foldsCase && !folding.foldsNormalization) {
        let tooBig = this.unlisted.get(names);
        if (!tooBig) {
          tooBig = new Set();
          this.unlisted.set(names, tooBig);
        }
        listing = new FolderListing((rel) => this.pathOf(rel), entries.length, tooBig);
      }
      this.lastListing = { entries, listing };
    }
    return this.lastListing.listing;
  }

  private knownFolders(names: OfferedNames | undefined): Map<string, boolean> {
    if (!names) return new Map();
    let known = this.folderCache.get(names);
    if (!known) {
      known = new Map();
      this.folderCache.set(names, known);
    }
    for (const [path, there] of known) if (!there) known.delete(path);
    return known;
  }

  /**
   * Entries refused one by one, by index: names this folder's filesystem cannot hold beside earlier
   * ones (names.ts), and links that could lead outside this folder.
   */
  async refusals(entries: readonly ManifestEntry[], options: PageOptions = {}): Promise<Map<number, Refusal>> {
    const out = new Map<number, Refusal>();
    const first = options.first ?? 0;
    for (const [index, reason] of this.checkNames(entries, first, options.names).collisions)
      out.set(index, {
        code: "name-collision",
        message: `refusing '${printable(entries[index - first]!.path)}': ${reason}`,
      });
    const folders = new Map<string, boolean>();
    const listing = this.listingOf(entries, options.names);
    for (let at = 0; at < entries.length; at++) {
      const entry = entries[at]!;
      const index = first + at;
      if (out.has(index)) continue;
      if (entry.kind === "file") {
        const foreign = this.foreignPart(entry.path, folders, listing);
        if (foreign) out.set(index, { code: "exists", message: foreign });
        continue;
      }
      const why = entry.kind === "symlink" ? unsafeLinkReason(entry.path, entry.target) : null;
      if (why) out.set(index, { code: "unsafe-name", message: `refusing link '${printable(entry.path)}': ${why}` });
    }
    return out;
  }

  /**
   * Make an offered link (its target was checked by refusals() or prepare()). One already there with
   * the same target is fine; anything else under that name is left alone and reported.
   */
  async makeLink(entry: ManifestEntry): Promise<void> {
    const why = unsafeLinkReason(entry.path, entry.target);
    if (why) throw new XferError("unsafe-name", `refusing link '${printable(entry.path)}': ${why}`);
    this.checkParents(entry.path);
    const at = this.pathOf(entry.path);
    try {
      symlinkSync(entry.target!, at);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw toXferError(err, `cannot make link '${entry.path}'`);
      const info = lstatSync(at);
      if (!info.isSymbolicLink() || readlinkSync(at) !== entry.target)
        throw new XferError("exists", `'${printable(entry.path)}' already exists here and is not that link`);
      return;
    }
    const t = entry.mtimeMs / 1000;
    lutimesSync(at, t, t);
  }

  /** The last page's check, kept: refusals() and prepare() ask about the same page, which is checked once. */
  private lastCheck: { entries: readonly ManifestEntry[]; result: OfferedNamesCheck } | null = null;

  private checkNames(entries: readonly ManifestEntry[], first: number, names?: OfferedNames): OfferedNamesCheck {
    if (this.lastCheck?.entries !== entries) {
      const paths = entries.map((e) => e.path);
      const result = (names ?? this.offerNames()).check(paths, first);
      const ours = paths.find((p) => p === RECORD_DIR || p.startsWith(`${RECORD_DIR}/`));
      if (!result.fatal && ours !== undefined)
        result.fatal = { name: ours, reason: `'${RECORD_DIR}' is where this receiver keeps its records` };
      this.lastCheck = { entries, result };
    }
    return this.lastCheck.result;
  }

  /**
   * Why the part of `rel` cannot be used: something that is not a part of ours holds its name (a
   * user's own file, say). Null when there is no part or it is ours. `folders` caches which parent
   * folders exist, for one offer's check.
   */
  private foreignPart(rel: string, folders: Map<string, boolean>, listing: FolderListing | undefined): string | null {
    const slash = rel.lastIndexOf("/");
    if (slash > 0) {
      const parent = rel.slice(0, slash);
      let there = folders.get(parent);
      if (there === undefined) {
        there = lstatSync(this.pathOf(parent), { throwIfNoEntry: false })?.isDirectory() ?? false;
        folders.set(parent, there);
      }
      if (!there) return null;
    }
    return this.partReason(rel, this.entryAt(rel + PART_SUFFIX, listing));
  }

  /** What is at `rel` under the root, without following a link (null: nothing, or a name the page's listing lacks). */
  private entryAt(rel: string, listing: FolderListing | undefined): Stats | null {
    return listing?.absent(rel) ? null : lstatOrNull(this.pathOf(rel));
  }

  /** Why a part found as `info` cannot be used for `rel` (see foreignPart). */
  private partReason(rel: string, info: Stats | null): string | null {
    const part = rel + PART_SUFFIX;
    if (!info) return null;
    if (!info.isFile()) return `'${printable(part)}' is here and is not a regular file`;
    if (this.parts.owns(part, info)) return null;
    return `'${printable(part)}' is here and was not made by this receiver: it is left alone, so '${printable(rel)}' cannot be received (move that file away)`;
  }

  private async prepareFile(
    index: number,
    entry: ManifestEntry,
    existing: Stats | null,
    resume: boolean,
    listing: FolderListing | undefined,
  ): Promise<Prepared | "existing" | null> {
    if (existing) {
      if (!existing.isFile()) throw new XferError("exists", `'${entry.path}' exists here and is not a regular file`);
      if (!this.opts.overwrite) {
        if (entry.size === null || existing.size !== entry.size)
          throw new XferError("exists", `'${entry.path}' already exists here (use --overwrite to replace it)`);
        return "existing";
      }
    }
    // One lookup of the part says both whether it is ours and what of it can be resumed.
    const part = this.entryAt(entry.path + PART_SUFFIX, listing);
    const foreign = this.partReason(entry.path, part);
    if (foreign) throw new XferError("exists", foreign);
    // null: a new file, nothing of it here (PreparedFiles keeps those as one byte).
    if (!resume || entry.size === null) return null;
    if (!part || part.size === 0) return null;
    const offset = Math.min(part.size, entry.size);
    const prefix = await hashFilePrefix(this.pathOf(entry.path + PART_SUFFIX), offset, { noFollow: true });
    return { accepted: { index, offset, prefixHash: prefix.digest(), existing: false }, prefix };
  }

  /** Refuse, before anything is created, an offer the disk cannot hold. */
  private async checkSpace(entries: readonly ManifestEntry[], prepared: PreparedFiles, pending: number): Promise<void> {
    let need = 0;
    for (let index = prepared.first; index < prepared.end; index++) {
      const size = entries[index - prepared.first]?.size ?? 0;
      if (prepared.isFresh(index)) need += size;
      else {
        const p = prepared.get(index);
        if (p && !p.accepted.existing) need += Math.max(0, size - p.accepted.offset);
      }
    }
    if (need === 0) return;
    need += pending;
    let free: number;
    let headroom: number;
    try {
      const fs = await statfs(this.root);
      free = fs.bavail * fs.bsize;
      headroom = Math.min(DISK_HEADROOM_BYTES, (fs.blocks * fs.bsize) / 20);
    } catch {
      return; // No figure on this system: the writes themselves will say when the disk is full.
    }
    if (need + headroom > free)
      throw new XferError(
        "disk-full",
        `not enough space here: the offer needs ${need} bytes, the receiving disk has ${Math.max(0, Math.floor(free - headroom))} to spare`,
      );
  }

  /** Create a folder; true when this call created it (only those get the sender's mode and time). */
  async makeDir(entry: ManifestEntry): Promise<boolean> {
    this.checkParents(entry.path);
    const target = this.pathOf(entry.path);
    try {
      await mkdir(target, { mode: 0o700 });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw toXferError(err, entry.path);
      const info = await lstat(target);
      if (!info.isDirectory()) throw new XferError("exists", `'${entry.path}' exists here and is not a folder`);
      return false;
    }
  }

  /**
   * Apply folder modes and times last (writing files inside would change them again), only to
   * folders this session created, through a handle that did not follow a link.
   */
  async finishDirs(created: readonly ManifestEntry[]): Promise<void> {
    for (const entry of [...created].reverse()) {
      const fd = await this.openFd(entry.path, constants.O_RDONLY | (constants.O_DIRECTORY ?? 0));
      try {
        fchmodSync(fd, entry.mode & 0o777);
        const t = entry.mtimeMs / 1000;
        futimesSync(fd, t, t);
      } finally {
        closeSync(fd);
      }
    }
  }

  /**
   * Open the part file for writing from `offset`. `prefix` is the hash state of bytes kept
   * (required when offset > 0).
   */
  async openFile(entry: ManifestEntry, offset: number, prefix: StreamingHasher | null): Promise<IncomingFile> {
    const hasher = offset > 0 && prefix ? prefix : await newHasher();
    const { fd, where, forget } = await this.openPart(entry, offset);
    return new IncomingFile(entry, fd, where, offset, hasher, forget);
  }

  /** Open the part file for writes at any offset (datagram transports); it starts empty. */
  async openPlaced(entry: ManifestEntry): Promise<PlacedFile> {
    const { fd, where, forget } = await this.openPart(entry, 0);
    return new PlacedFile(entry, fd, where, this, forget);
  }

  /**
   * The part an earlier datagram session left incomplete, when its missing ranges were recorded for
   * exactly this file (same size and modification time): reopened as it is, with what is missing.
   * Anything else (no record, a record of another version, a malformed one) starts afresh.
   */
  async resumePlaced(entry: ManifestEntry): Promise<{ file: PlacedFile; missing: [number, number][] } | null> {
    if (entry.size === null) return null;
    const rel = entry.path + PART_SUFFIX;
    let doc: unknown;
    let partSize: number;
    try {
      this.checkParents(entry.path);
      const record = await this.openFd(rel + MISSING_SUFFIX, constants.O_RDONLY);
      try {
        const text = readFileSync(record, "utf8");
        doc = text.length <= MAX_MISSING_RECORD_CHARS ? JSON.parse(text) : null;
      } finally {
        closeSync(record);
      }
      partSize = lstatSync(this.pathOf(rel)).size;
    } catch {
      return null;
    }
    const parsed = MissingRecord.safeParse(doc);
    if (!parsed.success) return null;
    const { file, size, mtimeMs, missing } = parsed.data;
    if (file !== entry.path || size !== entry.size || mtimeMs !== entry.mtimeMs || partSize > size) return null;
    if (missing.some(([s, e]) => s >= e || e > size)) return null;
    const { fd, where, forget } = await this.openPart(entry, partSize);
    return { file: new PlacedFile(entry, fd, where, this, forget).resumedAt(partSize), missing };
  }

  /**
   * The part file, opened for writing and cut to `keep` bytes, as a bare descriptor: synchronous
   * calls, because a tree of small files opens one part per file and each thread-pool round trip
   * cost more than the open itself (docs/BENCHMARKS.md, issue 14). `forget` takes it out of the part
   * record once it has its final name.
   */
  private async openPart(entry: ManifestEntry, keep: number) {
    const { rel, partPath, target } = this.partOf(entry);
    const realRoot = await this.realRootOnce();
    const path = this.pathOf(rel);
    let fd: number;
    let created = true;
    try {
      try {
        fd = openInsideSync(realRoot, path, rel, PART_NEW, partCreateMode(entry));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        created = false;
        fd = openInsideSync(realRoot, path, rel, constants.O_WRONLY);
      }
    } catch (err) {
      throw toXferError(err, `cannot create '${rel}'`);
    }
    let info: Stats;
    try {
      info = fstatSync(fd);
      if (this.checkPart(rel, info, created) !== keep) ftruncateSync(fd, keep);
    } catch (err) {
      closeSync(fd);
      throw toXferError(err, `cannot prepare '${rel}'`);
    }
    const id = identityOf(info);
    const where = { partPath, finalPath: target, dev: info.dev, mode: info.mode & 0o777 };
    return { fd, where, forget: () => this.parts.forget({ rel, id }) };
  }

  private partOf(entry: ManifestEntry) {
    // The final name itself is not looked up again here (it was at the offer's check): the part is
    // opened by its own name without following links, and the final name is only ever renamed over,
    // which replaces a link there and never writes through it. One lstat a file (~3 % of the receiver).
    this.checkParents(entry.path, this.folderMemo, !this.folderMemo);
    const target = this.pathOf(entry.path);
    return { rel: entry.path + PART_SUFFIX, partPath: target + PART_SUFFIX, target };
  }

  /**
   * Refuses a part that is not a plain file of its own, or one already here that this receiver
   * did not make; records a new one. Returns its size.
   */
  private checkPart(rel: string, info: Stats, created: boolean): number {
    // A second name for the same file (a hard link) would let our writes reach someone's file.
    if (!info.isFile() || info.nlink > 1)
      throw new XferError("unsafe-name", `refusing '${printable(rel)}': not a plain file of its own`);
    if (created) this.parts.add(rel, info);
    else if (!this.parts.owns(rel, info))
      throw new XferError("exists", `'${printable(rel)}' is here and was not made by this receiver: it is left alone`);
    return info.size;
  }

  /**
   * Remove our parts (and their records of missing ranges) untouched for `maxAgeMs`: transfers
   * nobody came back to. Only parts this receiver recorded making are candidates, so a user's file
   * never is; call it while no session runs here (at start), so none is held.
   */
  removeAbandoned(maxAgeMs: number, now = Date.now()): { files: number; bytes: number } {
    const removed = { files: 0, bytes: 0 };
    for (const part of this.parts.present()) {
      const { rel, mtimeMs, size } = part;
      if (now - mtimeMs < maxAgeMs) continue;
      try {
        unlinkSync(this.pathOf(rel));
        const record = this.pathOf(rel + MISSING_SUFFIX);
        if (lstatSync(record, { throwIfNoEntry: false })?.isFile()) unlinkSync(record);
      } catch (err) {
        throw toXferError(err, `removing the abandoned part '${rel}'`);
      }
      this.parts.forget(part);
      removed.files++;
      removed.bytes += size;
    }
    this.parts.settle();
    return removed;
  }

  /** A session ended: the record of parts keeps only those still here (none: it is removed). */
  settle(): void {
    this.seenFolders.clear();
    this.parts.settle();
  }

  /**
   * Open `rel` under the root without following a link at its end, and prove where it landed; a
   * descriptor the caller closes.
   */
  async openFd(rel: string, flags: number, mode?: number): Promise<number> {
    return openInsideSync(await this.realRootOnce(), this.pathOf(rel), rel, flags, mode);
  }

  /** The root with its links resolved, looked up once: what every opened path is checked against. */
  private realRootOnce(): Promise<string> {
    this.realRoot ??= realpath(this.root);
    return this.realRoot;
  }

  /**
   * Every existing ancestor of `rel` must be a real folder inside root: a symlink there could
   * point anywhere, so it is refused rather than followed. Returns false when an ancestor does not
   * exist (nothing under it can). `known` remembers folders already looked at, by path under the
   * root, for one offer's check (10^6 entries made 4·10^6 lookups otherwise, and the strings of
   * each walk, kept until a collection, half a GB of peak memory). Synchronous: see lstatOrNull.
   */
  private checkParents(rel: string, known?: FolderMemo, checkLast = true): boolean {
    return this.lookUp(rel, known, undefined, checkLast) !== undefined;
  }

  /**
   * checkParents, and what is at `rel` itself: undefined when an ancestor does not exist, null when
   * `rel` does not (or `listing` says so, or `checkLast` is false), its lstat otherwise (a link there throws).
   */
  private lookUp(rel: string, known?: FolderMemo, listing?: FolderListing, checkLast = true): Stats | null | undefined {
    const slash = rel.lastIndexOf("/");
    const parent = slash > 0 ? rel.slice(0, slash) : null;
    const parentIsDir = parent === null ? true : known?.get(parent);
    if (parentIsDir === false) return undefined;
    if (parentIsDir === undefined && !this.checkFolders(rel, known)) return undefined;
    if (!checkLast) return null;
    const last = this.entryAt(rel, listing);
    if (last?.isSymbolicLink())
      throw new XferError("unsafe-name", `refusing '${printable(rel)}': it is a symbolic link here`);
    return last;
  }

  /** Walk the folders above `rel`: false when one does not exist. */
  private checkFolders(rel: string, known?: FolderMemo): boolean {
    const parts = rel.split("/");
    let sub = "";
    for (const part of parts.slice(0, -1)) {
      sub = sub ? `${sub}/${part}` : part;
      let isDir = known?.get(sub);
      if (isDir === undefined) {
        const info = lstatOrNull(this.pathOf(sub));
        if (info?.isSymbolicLink())
          throw new XferError("unsafe-name", `refusing '${printable(rel)}': '${part}' is a symbolic link here`);
        if (info && !info.isDirectory())
          throw new XferError("exists", `refusing '${printable(rel)}': '${part}' is not a folder here`);
        isDir = info !== null;
        known?.set(sub, isDir);
      }
      if (!isDir) return false;
    }
    return true;
  }

  pathOf(rel: string): string {
    return join(this.root, ...rel.split("/"));
  }
}

/** Folders looked at, by path under the root: true for a real folder, false for none there. */
type FolderMemo = Pick<Map<string, boolean>, "get" | "set">;

/** A memo that keeps only the folders found to exist. */
function existingOnly(map: Map<string, true>): FolderMemo {
  return {
    get: (sub) => map.get(sub),
    set(sub, isDir) {
      if (isDir) map.set(sub, true);
      return this as Map<string, boolean>;
    },
  };
}

/**
 * Synchronous on purpose: a metadata lookup takes microseconds, and the thread-pool round trip of
 * the promise version cost more than the call itself, several times per file (measured on a tree of
 * small files, docs/BENCHMARKS.md).
 */
function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) ?? null;
  } catch (err) {
    throw toXferError(err, path);
  }
}
