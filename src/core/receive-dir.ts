/**
 * The receiver's directory: where offered entries may land, what is already there (resume), and
 * the only code that creates files. Data goes to `name.xfer-part`; the final name appears only
 * after the hash matched, by an atomic rename.
 */
import { constants, type Stats } from "node:fs";
import { chmod, type FileHandle, lstat, mkdir, open, rm, utimes } from "node:fs/promises";
import { join } from "node:path";
import { toXferError, XferError } from "./errors.ts";
import { hashFilePrefix } from "./hash-file.ts";
import { newHasher, type StreamingHasher } from "./hashing.ts";
import { checkOfferedNames, PART_SUFFIX } from "./names.ts";
import { PlacedFile, publish } from "./placed-file.ts";
import type { ManifestEntry } from "./protocol/messages.ts";
import type { FileSink, Prepared, ReceiveTarget } from "./receive-target.ts";

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
  async prepare(entries: readonly ManifestEntry[]): Promise<Map<number, Prepared>> {
    const bad = checkOfferedNames(entries.map((e) => e.path));
    if (bad) throw new XferError("unsafe-name", `refusing offered name '${printable(bad.name)}': ${bad.reason}`);
    const prepared = new Map<number, Prepared>();
    for (const [index, entry] of entries.entries()) {
      await this.checkParents(entry.path);
      const target = this.pathOf(entry.path);
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
      await fh.truncate(keep);
    } catch (err) {
      await fh.close();
      throw toXferError(err, `cannot prepare '${entry.path}${PART_SUFFIX}'`);
    }
    return { fh, partPath, target };
  }

  /**
   * Every existing ancestor of `rel` must be a real folder inside root: a symlink there could
   * point anywhere, so it is refused rather than followed.
   */
  private async checkParents(rel: string): Promise<void> {
    const parts = rel.split("/");
    let at = this.root;
    for (const part of parts.slice(0, -1)) {
      at = join(at, part);
      const info = await lstatOrNull(at);
      if (!info) return;
      if (info.isSymbolicLink())
        throw new XferError("unsafe-name", `refusing '${printable(rel)}': '${part}' is a symbolic link here`);
      if (!info.isDirectory())
        throw new XferError("exists", `refusing '${printable(rel)}': '${part}' is not a folder here`);
    }
    const last = await lstatOrNull(join(this.root, rel));
    if (last?.isSymbolicLink())
      throw new XferError("unsafe-name", `refusing '${printable(rel)}': it is a symbolic link here`);
  }

  private pathOf(rel: string): string {
    return join(this.root, ...rel.split("/"));
  }
}

/**
 * Incoming pieces are copied into a few fixed staging buffers that are written in order while the
 * network keeps going: the disk and the network work at the same time, memory stays fixed
 * (STAGING_BUFFERS x STAGING_BYTES), and writes are issued one after another, so a process killed
 * mid-queue leaves a part file that is a clean prefix, which is what resume relies on.
 */
const STAGING_BYTES = 1 << 20;
const STAGING_BUFFERS = 8;

export class IncomingFile implements FileSink {
  /** Bytes accepted so far (written or staged), as a file offset. */
  private position: number;
  /** File offset where the current staging buffer starts. */
  private stagedAt: number;
  private staging: Uint8Array;
  private stagingFill = 0;
  private readonly free: Uint8Array[] = [];
  private readonly waitingForBuffer: (() => void)[] = [];
  private failure: unknown = null;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    readonly entry: ManifestEntry,
    private readonly fh: FileHandle,
    private readonly partPath: string,
    private readonly finalPath: string,
    readonly startOffset: number,
    private readonly hasher: StreamingHasher,
  ) {
    this.position = startOffset;
    this.stagedAt = startOffset;
    for (let i = 0; i < STAGING_BUFFERS; i++) this.free.push(new Uint8Array(STAGING_BYTES));
    this.staging = this.free.pop()!;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.entry.size !== null && this.position + bytes.byteLength > this.entry.size)
      throw new XferError(
        "protocol",
        `peer sent more than the ${this.entry.size} bytes offered for '${this.entry.path}'`,
      );
    this.throwIfFailed();
    this.hasher.update(bytes);
    this.position += bytes.byteLength;
    let at = 0;
    while (at < bytes.byteLength) {
      const take = Math.min(bytes.byteLength - at, STAGING_BYTES - this.stagingFill);
      this.staging.set(bytes.subarray(at, at + take), this.stagingFill);
      this.stagingFill += take;
      at += take;
      if (this.stagingFill === STAGING_BYTES) await this.flushStaging();
    }
    this.throwIfFailed();
  }

  /** Queue the staging buffer for writing and take a free one (waiting if the disk is behind). */
  private async flushStaging(): Promise<void> {
    const buf = this.staging;
    const length = this.stagingFill;
    const position = this.stagedAt;
    this.stagedAt += length;
    this.tail = this.tail
      .then(() => (this.failure ? undefined : this.writeAt(buf.subarray(0, length), position)))
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => {
        this.free.push(buf);
        this.waitingForBuffer.shift()?.();
      });
    this.stagingFill = 0;
    while (this.free.length === 0) await new Promise<void>((resolve) => this.waitingForBuffer.push(resolve));
    this.staging = this.free.pop()!;
  }

  private async writeAt(bytes: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < bytes.byteLength) {
      const { bytesWritten } = await this.fh.write(bytes, done, bytes.byteLength - done, position + done);
      done += bytesWritten;
    }
  }

  private async drain(): Promise<void> {
    if (this.stagingFill > 0) await this.flushStaging();
    await this.tail;
  }

  private throwIfFailed(): void {
    if (this.failure) throw toXferError(this.failure, `writing '${this.entry.path}'`);
  }

  /**
   * Verify and publish. On a hash mismatch the part file is deleted (resuming from bytes known
   * to be wrong would only fail again) and nothing appears under the final name.
   */
  async finish(size: number, hash: string): Promise<void> {
    await this.drain();
    const actual = this.hasher.digest();
    if (this.failure || size !== this.position || actual !== hash) {
      await this.fh.close();
      if (this.failure) throw toXferError(this.failure, `writing '${this.entry.path}'`);
      await rm(this.partPath, { force: true });
      const why = size !== this.position ? `size ${this.position}, expected ${size}` : "hash mismatch";
      throw new XferError("integrity", `'${this.entry.path}' failed verification (${why}); partial data discarded`);
    }
    // Durable before visible: after a crash the final name never holds unflushed data.
    await this.fh.datasync().catch((err: unknown) => {
      throw toXferError(err, `saving '${this.entry.path}'`);
    });
    await publish(this.fh, this.partPath, this.finalPath, this.entry);
  }

  /** Keep what was written for a later resume; flush so a crash after this loses nothing. */
  async abandon(): Promise<void> {
    await this.drain();
    await this.fh.datasync().catch(() => {});
    await this.fh.close().catch(() => {});
  }
}

async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw toXferError(err, path);
  }
}

/** For messages: show control characters instead of letting a hostile name drive the terminal. */
export function printable(name: string): string {
  return JSON.stringify(name)
    .slice(1, -1)
    .replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
