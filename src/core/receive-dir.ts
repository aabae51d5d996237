/**
 * The receiver's directory: where offered entries may land, what is already there (resume), and
 * the only code that creates files. Data goes to `name.xfer-part`; the final name appears only
 * after the hash matched, by an atomic rename.
 */
import { constants, fstatSync, lstatSync, lutimesSync, readlinkSync, type Stats, symlinkSync } from "node:fs";
import { chmod, type FileHandle, lstat, mkdir, open, utimes } from "node:fs/promises";
import { join } from "node:path";
import { toXferError, XferError } from "./errors.ts";
import { hashFilePrefix } from "./hash-file.ts";
import { newHasher, type StreamingHasher } from "./hashing.ts";
import { IncomingFile } from "./incoming-file.ts";
import { probeFolding } from "./name-folding.ts";
import { checkOfferedNames, type OfferedNamesCheck, PART_SUFFIX, unsafeLinkReason } from "./names.ts";
import { PlacedFile } from "./placed-file.ts";
import type { ManifestEntry } from "./protocol/messages.ts";
import type { Prepared, ReceiveTarget, Refusal } from "./receive-target.ts";

export interface ReceiveDirOptions {
  overwrite: boolean;
}

export class ReceiveDir implements ReceiveTarget {
  constructor(
    readonly root: string,
    private readonly opts: ReceiveDirOptions,
  ) {}

  /**
   * Validate an offer against this directory. Throws an XferError (sent to the peer as a reject)
   * when any name is unsafe or a file would be replaced without --overwrite; writes nothing.
   */
  async prepare(
    entries: readonly ManifestEntry[],
    refused: ReadonlySet<number> = new Set(),
  ): Promise<Map<number, Prepared>> {
    const { fatal, collisions } = this.checkNames(entries);
    if (fatal) throw new XferError("unsafe-name", `refusing offered name '${printable(fatal.name)}': ${fatal.reason}`);
    for (const [index, reason] of collisions)
      if (!refused.has(index))
        throw new XferError("unsafe-name", `refusing offered name '${printable(entries[index]!.path)}': ${reason}`);
    const prepared = new Map<number, Prepared>();
    const known = new Map<string, boolean>();
    for (const [index, entry] of entries.entries()) {
      if (refused.has(index)) continue;
      if (entry.kind === "symlink") {
        const why = unsafeLinkReason(entry.path, entry.target);
        if (why) throw new XferError("unsafe-name", `refusing link '${printable(entry.path)}': ${why}`);
        continue;
      }
      const target = this.pathOf(entry.path);
      if (!(await this.checkParents(entry.path, known))) {
        if (entry.kind === "file")
          prepared.set(index, { accepted: { index, offset: 0, existing: false }, prefix: null });
        continue;
      }
      const existing = await lstatOrNull(target);
      if (entry.kind === "dir") {
        if (existing && !existing.isDirectory())
          throw new XferError("exists", `'${entry.path}' exists here and is not a folder`);
        continue;
      }
      prepared.set(index, await this.prepareFile(index, entry, target, existing));
    }
    return prepared;
  }

  /**
   * Entries refused one by one, by index: names this folder's filesystem cannot hold beside earlier
   * ones (names.ts), and links that could lead outside this folder.
   */
  async refusals(entries: readonly ManifestEntry[]): Promise<Map<number, Refusal>> {
    const out = new Map<number, Refusal>();
    for (const [index, reason] of this.checkNames(entries).collisions)
      out.set(index, { code: "name-collision", message: `refusing '${printable(entries[index]!.path)}': ${reason}` });
    for (const [index, entry] of entries.entries()) {
      const why = entry.kind === "symlink" && !out.has(index) ? unsafeLinkReason(entry.path, entry.target) : null;
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
    await this.checkParents(entry.path);
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

  /** The last offer's check, kept: refusals() and prepare() ask about the same offer. */
  private lastCheck: { entries: readonly ManifestEntry[]; result: OfferedNamesCheck } | null = null;

  private checkNames(entries: readonly ManifestEntry[]): OfferedNamesCheck {
    if (this.lastCheck?.entries !== entries) {
      const result = checkOfferedNames(
        entries.map((e) => e.path),
        probeFolding(this.root),
      );
      this.lastCheck = { entries, result };
    }
    return this.lastCheck.result;
  }

  private async prepareFile(
    index: number,
    entry: ManifestEntry,
    target: string,
    existing: Stats | null,
  ): Promise<Prepared> {
    if (existing) {
      if (!existing.isFile()) throw new XferError("exists", `'${entry.path}' exists here and is not a regular file`);
      if (!this.opts.overwrite) {
        if (entry.size === null || existing.size !== entry.size)
          throw new XferError("exists", `'${entry.path}' already exists here (use --overwrite to replace it)`);
        const prefix = await hashFilePrefix(target, existing.size);
        return { accepted: { index, offset: existing.size, prefixHash: prefix.digest(), existing: true }, prefix };
      }
    }
    const part = await lstatOrNull(target + PART_SUFFIX);
    if (part && !part.isFile()) throw new XferError("exists", `'${entry.path}${PART_SUFFIX}' is not a regular file`);
    if (!part || part.size === 0 || entry.size === null)
      return { accepted: { index, offset: 0, existing: false }, prefix: null };
    const offset = Math.min(part.size, entry.size);
    const prefix = await hashFilePrefix(target + PART_SUFFIX, offset);
    return { accepted: { index, offset, prefixHash: prefix.digest(), existing: false }, prefix };
  }

  async makeDir(entry: ManifestEntry): Promise<void> {
    await this.checkParents(entry.path);
    const target = this.pathOf(entry.path);
    try {
      await mkdir(target, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw toXferError(err, entry.path);
      const info = await lstat(target);
      if (!info.isDirectory()) throw new XferError("exists", `'${entry.path}' exists here and is not a folder`);
    }
  }

  /** Apply folder modes and times last: writing files inside would change them again. */
  async finishDirs(entries: readonly ManifestEntry[]): Promise<void> {
    for (const entry of [...entries].reverse()) {
      if (entry.kind !== "dir") continue;
      const target = this.pathOf(entry.path);
      await chmod(target, entry.mode & 0o777);
      const t = entry.mtimeMs / 1000;
      await utimes(target, t, t);
    }
  }

  /**
   * Open the part file for writing from `offset`. `prefix` is the hash state of bytes kept
   * (required when offset > 0).
   */
  async openFile(entry: ManifestEntry, offset: number, prefix: StreamingHasher | null): Promise<IncomingFile> {
    const { fh, partPath, target } = await this.openPart(entry, offset);
    const hasher = offset > 0 && prefix ? prefix : await newHasher();
    return new IncomingFile(entry, fh, partPath, target, offset, hasher);
  }

  /** Open the part file for writes at any offset (datagram transports); it starts empty. */
  async openPlaced(entry: ManifestEntry): Promise<PlacedFile> {
    const { fh, partPath, target } = await this.openPart(entry, 0);
    return new PlacedFile(entry, fh, partPath, target);
  }

  /** The part file, opened for writing and cut to `keep` bytes. */
  private async openPart(entry: ManifestEntry, keep: number) {
    await this.checkParents(entry.path);
    const target = this.pathOf(entry.path);
    const partPath = target + PART_SUFFIX;
    let fh: FileHandle;
    try {
      // O_NOFOLLOW: a symlink planted under the part name must not redirect our writes.
      fh = await open(partPath, constants.O_WRONLY | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0), 0o600);
    } catch (err) {
      throw toXferError(err, `cannot create '${entry.path}${PART_SUFFIX}'`);
    }
    try {
      // A new part is already empty: skip the (thread-pool) truncate, once per file in a tree.
      if (fstatSync(fh.fd).size !== keep) await fh.truncate(keep);
    } catch (err) {
      await fh.close();
      throw toXferError(err, `cannot prepare '${entry.path}${PART_SUFFIX}'`);
    }
    return { fh, partPath, target };
  }

  /**
   * Every existing ancestor of `rel` must be a real folder inside root: a symlink there could
   * point anywhere, so it is refused rather than followed. Returns false when an ancestor does not
   * exist (nothing under it can). `known` remembers folders already looked at, for one offer's
   * check (10^6 entries made 4·10^6 lookups otherwise).
   */
  private async checkParents(rel: string, known?: Map<string, boolean>): Promise<boolean> {
    const parts = rel.split("/");
    let at = this.root;
    for (const part of parts.slice(0, -1)) {
      at = join(at, part);
      let isDir = known?.get(at);
      if (isDir === undefined) {
        const info = await lstatOrNull(at);
        if (info?.isSymbolicLink())
          throw new XferError("unsafe-name", `refusing '${printable(rel)}': '${part}' is a symbolic link here`);
        if (info && !info.isDirectory())
          throw new XferError("exists", `refusing '${printable(rel)}': '${part}' is not a folder here`);
        isDir = info !== null;
        known?.set(at, isDir);
      }
      if (!isDir) return false;
    }
    const last = await lstatOrNull(join(this.root, rel));
    if (last?.isSymbolicLink())
      throw new XferError("unsafe-name", `refusing '${printable(rel)}': it is a symbolic link here`);
    return true;
  }

  private pathOf(rel: string): string {
    return join(this.root, ...rel.split("/"));
  }
}

/**
 * Synchronous on purpose: a metadata lookup takes microseconds, and the thread-pool round trip of
 * the promise version cost more than the call itself, several times per file (measured on a tree of
 * small files, docs/BENCHMARKS.md).
 */
async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) ?? null;
  } catch (err) {
    throw toXferError(err, path);
  }
}

/** For messages: show control characters instead of letting a hostile name drive the terminal. */
export function printable(name: string): string {
  return JSON.stringify(name)
    .slice(1, -1)
    .replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
