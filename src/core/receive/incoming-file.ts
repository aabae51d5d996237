/**
 * A file received in order (stream transports): every piece is hashed and written where it belongs
 * before the next one is read, so the part file is always a clean prefix (what resume relies on), no
 * byte is copied in user space, and the transport's buffers are never held. The writes are plain
 * synchronous pwrite(2) calls, like socat's: a piece lands in the page cache in microseconds, and
 * when the disk is behind, the kernel's throttling is the backpressure the sender feels.
 * Measured against a queue of staging buffers written from the thread pool (docs/BENCHMARKS.md).
 *
 * Durable before visible: the part is fdatasync'ed before it takes its final name (in a batch with
 * other verified files, src/core/receive/publish-batch.ts). Writeback is started in the background every
 * FLUSH_EVERY_BYTES, so the disk works during the transfer and the last flush waits only for the tail.
 */
import { closeSync, fchmodSync, fdatasync, futimesSync, renameSync, writeSync } from "node:fs";
import { open, rm } from "node:fs/promises";
import { promisify } from "node:util";
import { toXferError, XferError } from "../errors.ts";
import type { StreamingHasher } from "../hashing.ts";
import type { ManifestEntry } from "../protocol/messages.ts";
import type { Commit } from "./publish-batch.ts";
import type { FileSink } from "./receive-target.ts";

/**
 * How much is written between background flushes (measured: the final flush of 1 GiB took 340–560 ms
 * without them, 0–22 ms with them).
 */
const FLUSH_EVERY_BYTES = 64 << 20;

const datasync = promisify(fdatasync);

/**
 * Where a part lies: its path, the final name it takes, its filesystem (st_dev, for syncfs), and
 * its permission bits as opened.
 */
export interface PartPlace {
  partPath: string;
  finalPath: string;
  dev: number;
  mode: number;
}

/**
 * The mode a part is created with: the offered one where the umask leaves it as it is (then no
 * fchmod is needed on publish, one call a file fewer), never writable by anyone but us while it
 * is unverified, always writable by us.
 */
export const partCreateMode = (entry: ManifestEntry) => (entry.mode & 0o755) | 0o600;

/** Give the part the offered permission bits through its descriptor, unless it has them already. */
export function setOfferedMode(fd: number, where: PartPlace, entry: ManifestEntry): void {
  const want = entry.mode & 0o777;
  if (where.mode !== want) fchmodSync(fd, want);
}

export class IncomingFile implements FileSink {
  /** Bytes written so far, as a file offset. */
  private position: number;
  private flushedUpTo: number;
  /** A background fdatasync in flight, or null. */
  private flushing: Promise<void> | null = null;
  private failure: unknown = null;

  constructor(
    readonly entry: ManifestEntry,
    /** Ours to close, once (see close): a bare descriptor, opened synchronously (ReceiveDir.openFile). */
    private readonly fd: number,
    private readonly where: PartPlace,
    readonly startOffset: number,
    private readonly hasher: StreamingHasher,
    /** Runs once the part has its final name (its record of being ours can go). */
    private readonly onPublished: () => void,
  ) {
    this.position = startOffset;
    this.flushedUpTo = startOffset;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.entry.size !== null && this.position + bytes.byteLength > this.entry.size)
      throw new XferError(
        "protocol",
        `peer sent more than the ${this.entry.size} bytes offered for '${this.entry.path}'`,
      );
    this.throwIfFailed();
    // A file that arrives in one piece is hashed over these bytes in place (hashing.ts, digestWith).
    if (this.startOffset === 0 && this.position === 0 && bytes.byteLength === this.entry.size)
      this.hasher.digestWith(bytes);
    else this.hasher.update(bytes);
    let done = 0;
    try {
      while (done < bytes.byteLength)
        done += writeSync(this.fd, bytes, done, bytes.byteLength - done, this.position + done);
    } catch (err) {
      this.failure ??= err;
      this.throwIfFailed();
    }
    this.position += bytes.byteLength;
    if (!this.flushing && this.position - this.flushedUpTo >= FLUSH_EVERY_BYTES) this.startFlush();
  }

  private startFlush(): void {
    this.flushedUpTo = this.position;
    this.flushing = datasync(this.fd)
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => {
        this.flushing = null;
      });
  }

  private throwIfFailed(): void {
    if (this.failure) throw toXferError(this.failure, `writing '${this.entry.path}'`);
  }

  /**
   * Verify. On a hash mismatch the part file is deleted (resuming from bytes known to be wrong
   * would only fail again) and nothing appears under the final name.
   */
  async finish(size: number, hash: string): Promise<Commit> {
    await this.flushing;
    const actual = this.hasher.digest();
    if (this.failure || size !== this.position || actual !== hash) {
      this.close();
      if (this.failure) throw toXferError(this.failure, `writing '${this.entry.path}'`);
      await rm(this.where.partPath, { force: true });
      const why = size !== this.position ? `size ${this.position}, expected ${size}` : "hash mismatch";
      throw new XferError("integrity", `'${this.entry.path}' failed verification (${why}); partial data discarded`);
    }
    return {
      bytes: size - this.startOffset,
      disk: { path: this.where.partPath, dev: this.where.dev },
      release: () => this.release(),
      // Durable before visible: after a crash the final name never holds unflushed data.
      sync: () =>
        (this.released ? syncPath(this.where.partPath) : datasync(this.fd)).catch((err: unknown) => {
          throw toXferError(err, `saving '${this.entry.path}'`);
        }),
      publish: () => this.publish(),
      move: {
        from: this.where.partPath,
        to: this.where.finalPath,
        name: this.entry.path,
        moved: () => this.onPublished(),
      },
      discard: async () => this.close(),
    };
  }

  private released = false;

  /**
   * Mode and time go on through the descriptor, before the rename: the file appears complete, and no
   * path is looked up for them (a path could have been swapped for a link since). Then the
   * descriptor is closed. Synchronous calls: a batch publishes hundreds of files, and each call is
   * cheaper than a thread-pool round trip.
   */
  private async release(): Promise<void> {
    if (this.released) return;
    const { entry } = this;
    try {
      setOfferedMode(this.fd, this.where, entry);
      const t = entry.mtimeMs / 1000;
      futimesSync(this.fd, t, t);
      this.released = true;
      this.close();
    } catch (err) {
      throw toXferError(err, `saving '${entry.path}'`);
    }
  }

  private async publish(): Promise<void> {
    await this.release();
    try {
      renameSync(this.where.partPath, this.where.finalPath);
    } catch (err) {
      throw toXferError(err, `saving '${this.entry.path}'`);
    }
    this.onPublished();
  }

  /** Keep what was written for a later resume; flush so a crash after this loses nothing. */
  async abandon(): Promise<void> {
    await this.flushing;
    if (!this.closed) await datasync(this.fd).catch(() => {});
    try {
      this.close();
    } catch {}
  }

  private closed = false;

  /**
   * Closes the descriptor at most once: a bare number, unlike a FileHandle, is reused by the next
   * open, so a second close would close someone else's file.
   */
  private close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

/** fdatasync a closed file (the batch's syncfs failed after its descriptors were closed). */
async function syncPath(path: string): Promise<void> {
  const fh = await open(path, "r");
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}
