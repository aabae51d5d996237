/**
 * A file written at arbitrary offsets (datagrams arrive in any order): bytes go into the `.xfer-part`
 * where they belong; at the end the whole part is hashed from disk and published only if it matches,
 * or kept, with the list of missing byte ranges beside it, when data never arrived.
 *
 * The part is a bare descriptor opened with synchronous calls (ReceiveDir.openPlaced), like the stream
 * path's IncomingFile: the open, mode, time, close and rename of a tree of small files cost less than
 * the thread-pool round trip each took as a FileHandle call (docs/BENCHMARKS.md, issue 14). The data
 * writes stay asynchronous: up to MAX_IN_FLIGHT gathered writes are with the disk while datagrams
 * keep arriving.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  fdatasync,
  ftruncateSync,
  futimesSync,
  renameSync,
  unlinkSync,
  write,
  writeSync,
} from "node:fs";
import { rm } from "node:fs/promises";
import { promisify } from "node:util";
import { toXferError, XferError } from "../errors.ts";
import { hashFilePrefix } from "../hash-file.ts";
import { PART_SUFFIX } from "../names.ts";
import type { ManifestEntry } from "../protocol/messages.ts";
import { type PartPlace, setOfferedMode } from "./incoming-file.ts";
import type { PlacedSink } from "./receive-target.ts";

const datasync = promisify(fdatasync);
const writeAtFd = promisify(write);

/** Positional writes allowed in flight before writeAt() waits for the disk. */
const MAX_IN_FLIGHT = 16;
/** Consecutive bytes gathered into one write. */
const GATHER_BYTES = 1 << 20;

export const MISSING_SUFFIX = ".missing.json";

/** The receiving folder, as far as a placed file needs it (ReceiveDir). */
export interface RelativeDir {
  /** Open a path under the folder without following links (see open-inside.ts); the caller closes it. */
  openFd(rel: string, flags: number, mode?: number): Promise<number>;
  pathOf(rel: string): string;
}

export class PlacedFile implements PlacedSink {
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private failure: unknown = null;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: (() => void) | null = null;
  private readonly gather = new Uint8Array(GATHER_BYTES);
  private gatherAt = 0;
  private gatherFill = 0;

  constructor(
    readonly entry: ManifestEntry,
    /** Ours to close, once (see close). */
    private readonly fd: number,
    private readonly where: PartPlace,
    private readonly dir: RelativeDir,
    /** Runs once the part has its final name (its record of being ours can go). */
    private readonly onPublished: () => void,
  ) {}
  /** One past the last byte written: the part never grows beyond what really arrived. */
  private extent = 0;

  /** A part resumed from an earlier session already holds bytes up to `size`. */
  resumedAt(size: number): this {
    this.extent = size;
    return this;
  }

  /**
   * Write `bytes` at `offset`; resolves once queued (the disk may still be behind). Datagrams mostly
   * arrive in order, so consecutive ones are gathered into one write: one syscall per datagram
   * made the disk, not the network, the limit.
   */
  async writeAt(bytes: Uint8Array, offset: number): Promise<void> {
    if (this.failure) throw toXferError(this.failure, `writing '${this.entry.path}'`);
    // Its descriptor number may belong to another file by now.
    if (this.closed) throw new XferError("protocol", `data for '${this.entry.path}' after it was finished`);
    if (offset + bytes.byteLength > (this.entry.size ?? 0))
      throw new XferError("protocol", `data beyond the ${this.entry.size} bytes offered for '${this.entry.path}'`);
    if (offset !== this.gatherAt + this.gatherFill || this.gatherFill + bytes.byteLength > GATHER_BYTES)
      await this.flushGather();
    if (this.gatherFill === 0) this.gatherAt = offset;
    this.gather.set(bytes, this.gatherFill);
    this.gatherFill += bytes.byteLength;
    this.extent = Math.max(this.extent, offset + bytes.byteLength);
  }

  private async flushGather(): Promise<void> {
    if (this.gatherFill === 0) return;
    const bytes = this.gather.slice(0, this.gatherFill);
    const offset = this.gatherAt;
    this.gatherFill = 0;
    while (this.inFlight >= MAX_IN_FLIGHT) await new Promise<void>((r) => this.waiting.push(r));
    if (this.inFlight++ === 0) this.idle = new Promise<void>((r) => (this.markIdle = r));
    void this.write(bytes, offset)
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => {
        this.inFlight--;
        this.waiting.shift()?.();
        if (this.inFlight === 0) this.markIdle?.();
      });
  }

  private async write(bytes: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < bytes.byteLength)
      done += (await writeAtFd(this.fd, bytes, done, bytes.byteLength - done, position + done)).bytesWritten;
  }

  /**
   * Every byte arrived: verify the part against `hash` and publish it under the final name. Fails
   * with the descriptor closed (the caller moves on to the next file; a bare number is not closed by
   * any collector).
   */
  async finish(hash: string): Promise<void> {
    await this.closedOnFailure(() => this.verifyAndPublish(hash));
  }

  private async closedOnFailure(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      this.close();
      throw err;
    }
  }

  private async verifyAndPublish(hash: string): Promise<void> {
    await this.flush();
    const size = this.entry.size ?? 0;
    const actual = (await hashFilePrefix(this.where.partPath, size, { noFollow: true })).digest();
    if (actual !== hash) {
      this.close();
      await rm(this.where.partPath, { force: true });
      throw new XferError("integrity", `'${this.entry.path}' failed verification (hash mismatch); discarded`);
    }
    this.closeAndPublish();
    // What an earlier, incomplete session left beside the part is now stale.
    unlinkIfThere(this.dir.pathOf(`${this.entry.path}${PART_SUFFIX}${MISSING_SUFFIX}`));
  }

  /**
   * Data is missing. Keep the part (resending can fill it) or, with `publish` (--allow-loss), give it
   * its final name with the holes as zero bytes. Either way the missing ranges go beside it as JSON;
   * returns that file's path. A kept part is never extended to the
   * size the peer only claimed: it ends where the last byte that arrived ends.
   */
  async keepIncomplete(missing: [number, number][], publish: boolean): Promise<string> {
    await this.closedOnFailure(() => this.flush());
    const size = this.entry.size ?? 0;
    let rel = `${this.entry.path}${PART_SUFFIX}`;
    try {
      ftruncateSync(this.fd, publish ? size : Math.min(this.extent, size));
    } catch (err) {
      this.close();
      throw toXferError(err, `saving '${this.entry.path}'`);
    }
    if (publish) {
      this.closeAndPublish();
      rel = this.entry.path;
    } else this.close();
    // The offer's modification time too: a later session resumes the part only for the same file.
    const doc = { file: this.entry.path, size: this.entry.size, mtimeMs: this.entry.mtimeMs, missing };
    await this.writeBeside(rel + MISSING_SUFFIX, `${JSON.stringify(doc)}\n`);
    return this.dir.pathOf(rel + MISSING_SUFFIX);
  }

  /**
   * A new file under a random name, opened exclusively, then renamed over `rel`: whatever was at
   * `rel` (a planted link, say) is replaced, never written through.
   */
  private async writeBeside(rel: string, text: string): Promise<void> {
    const temp = `${rel}.${randomBytes(6).toString("hex")}.tmp`;
    const fd = await this.dir.openFd(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    const tempPath = this.dir.pathOf(temp);
    try {
      try {
        writeSync(fd, text);
      } finally {
        closeSync(fd);
      }
      renameSync(tempPath, this.dir.pathOf(rel));
    } catch (err) {
      unlinkIfThere(tempPath);
      throw toXferError(err, `saving '${rel}'`);
    }
  }

  async abandon(): Promise<void> {
    if (this.closed) return; // finished, kept or failed already: nothing of it is open
    await this.flush().catch(() => {});
    this.close();
  }

  private async flush(): Promise<void> {
    await this.flushGather();
    if (this.inFlight > 0) await this.idle;
    if (this.failure) throw toXferError(this.failure, `writing '${this.entry.path}'`);
    await datasync(this.fd);
  }

  /**
   * Give the flushed part the offered mode and time through its descriptor (so nothing swapped in at
   * either name is touched), close it and rename it to its final name.
   */
  private closeAndPublish(): void {
    const { entry } = this;
    try {
      setOfferedMode(this.fd, this.where, entry);
      const t = entry.mtimeMs / 1000;
      futimesSync(this.fd, t, t);
      this.close();
      renameSync(this.where.partPath, this.where.finalPath);
    } catch (err) {
      this.close();
      throw toXferError(err, `saving '${entry.path}'`);
    }
    this.onPublished();
  }

  private closed = false;

  /** At most once: a bare descriptor number is reused by the next open, a second close would close another file. */
  private close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

function unlinkIfThere(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}
