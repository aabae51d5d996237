/**
 * Batched durability for many small files. A file that verified is not synced and renamed on its
 * own: it waits here, still under its part name, until enough have gathered; then the batch is made
 * durable at once (one syncfs per filesystem where it can, src/core/receive/syncfs.ts, else every
 * file's fdatasync in parallel), and only after that returned are the files given their final
 * names. One fdatasync per file forced one journal commit per file (measured in docs/BENCHMARKS.md).
 *
 * The guarantee is unchanged: nothing takes its final name before its bytes are on disk. Until a
 * batch is published its files are complete part files, which a resume finds and verifies.
 */
import { renameSync } from "node:fs";
import { toXferError } from "../errors.ts";
import { type Syncfs, syncFilesystem } from "./syncfs.ts";

/** A released part's rename to its final name. */
export interface Move {
  from: string;
  to: string;
  /** The offered name, for errors. */
  name: string;
  /** After the rename succeeded. */
  moved(): void;
}

/** A verified file, ready to be made durable and then visible. */
export interface Commit {
  /** Bytes of the file: a batch holding many bytes is flushed early. */
  readonly bytes: number;
  /**
   * The part file and its filesystem (st_dev, from the open descriptor), for syncfs; null when there
   * is nothing on disk to sync (standard output). The device comes with it so that neither the
   * batch nor the syncfs check looks the path up again for every file.
   */
  readonly disk: { path: string; dev: number } | null;
  /**
   * Set mode and time through the descriptor and close it, where syncfs will make the batch durable:
   * the batch then holds no descriptors. sync() still works after it (by path).
   */
  release(): Promise<void>;
  /** fdatasync the part (where syncfs is not available or failed); nothing is visible yet. */
  sync(): Promise<void>;
  /** Give the synced part its final name (and its mode and time, unless released). */
  publish(): Promise<void>;
  /**
   * Once released: the rename publish() would make, for the batch to make with the others in one
   * synchronous run (no thread-pool hop a file), and what to call after it succeeded. Absent: call publish().
   */
  readonly move?: Move;
  /** Close without publishing (the session failed first); the part stays for a resume. */
  discard(): Promise<void>;
}

export interface BatchLimits {
  /** Files per batch while each holds its descriptor (no syncfs: every file syncs itself). */
  files: number;
  /** Files per batch when syncfs makes it durable (descriptors closed as files are queued). */
  releasedFiles: number;
  bytes: number;
  /**
   * With no batch being flushed, one of this many released files starts at once instead of waiting
   * to be full (absent: it waits). A flush is then nearly always in flight while files arrive, and
   * the last batch, whose syncfs and renames the session's end waits for, stays small.
   */
  eagerFiles?: number;
}

/**
 * 256 files holding descriptors: well inside the usual limit of 1024. 2048 released files: one syncfs
 * per 2048 small files (measured: 1024 instead of 256 per batch was 15–25 % faster on 10,000 files).
 * 64 MiB: a large file is published soon after it arrives (its own writeback already ran). 512
 * eager: the last batch of 10,000 × 4 KiB files waited for up to 2048 files' syncfs and renames after
 * the last byte (~110 ms of a 1.5 s session, measured; docs/BENCHMARKS.md, issue 14).
 */
export const DEFAULT_BATCH_LIMITS: BatchLimits = {
  files: 256,
  releasedFiles: 2048,
  bytes: 64 << 20,
  eagerFiles: 512,
};

interface Pending {
  commit: Commit;
  /** The commit's release(), started when queued (where syncfs is used). */
  released: Promise<void> | null;
  /** Runs once the file is published (report it). */
  published: () => void;
}

export class PublishBatch {
  private pending: Pending[] = [];
  private pendingBytes = 0;
  /** Queued files still holding their descriptors (released ones do not). */
  private holding = 0;
  /** The batch being synced and published in the background, or null. */
  private flushing: Promise<void> | null = null;
  private failure: unknown = null;
  private readonly usableOnDevice = new Map<number, boolean>();

  /** `flushed` runs after each batch's `published` calls (tell the peer about all of them at once). */
  constructor(
    private readonly flushed: () => Promise<void>,
    private readonly limits: BatchLimits = DEFAULT_BATCH_LIMITS,
    /** null: sync file by file. */
    private readonly syncfs: Syncfs | null = syncFilesystem,
  ) {}

  /** Queue a verified file. Waits only when a full batch finds the previous one still flushing. */
  async add(commit: Commit, published: () => void): Promise<void> {
    this.throwIfFailed();
    // Not awaited here: a failure to set mode or time surfaces when the batch is flushed, for the whole batch.
    const early = commit.disk !== null && this.usable(commit.disk);
    const released = early ? commit.release() : null;
    released?.catch(() => {});
    if (!early) this.holding++;
    this.pending.push({ commit, published, released });
    this.pendingBytes += commit.bytes;
    const { eagerFiles } = this.limits;
    if (this.flushing === null && eagerFiles !== undefined && this.pending.length >= eagerFiles && this.holding === 0) {
      this.startFlush();
      return;
    }
    if (
      this.pending.length >= this.limits.releasedFiles ||
      this.holding >= this.limits.files ||
      this.pendingBytes >= this.limits.bytes
    ) {
      await this.flushing;
      this.throwIfFailed();
      this.startFlush();
    }
  }

  /** Publish everything queued and wait for it: the end of a session. */
  async drain(): Promise<void> {
    await this.flushing;
    this.throwIfFailed();
    this.startFlush();
    await this.flushing;
    this.throwIfFailed();
  }

  /** The session failed: close what was not published yet, keeping the parts for a resume. */
  async abandon(): Promise<void> {
    await this.flushing?.catch(() => {});
    const left = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.holding = 0;
    await Promise.all(left.map((p) => p.commit.discard().catch(() => {})));
  }

  private startFlush(): void {
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.holding = 0;
    if (batch.length === 0) return;
    this.flushing = flushBatch(batch, this.syncfs)
      .then(this.flushed)
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => {
        this.flushing = null;
      });
  }

  /**
   * Whether syncfs will make this file durable: one statfs per filesystem and session, remembered by
   * device (a statfs per file of a tree was measurable; docs/BENCHMARKS.md). Not kept longer than a
   * session: a device number can be reused by another mount.
   */
  private usable(disk: { path: string; dev: number }): boolean {
    if (!this.syncfs) return false;
    const known = this.usableOnDevice.get(disk.dev);
    if (known !== undefined) return known;
    const usable = this.syncfs.usable(disk.path);
    this.usableOnDevice.set(disk.dev, usable);
    return usable;
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}

async function flushBatch(batch: readonly Pending[], syncfs: Syncfs | null): Promise<void> {
  const releases = await Promise.allSettled(batch.map((p) => p.released));
  const releaseFailed = releases.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (releaseFailed) {
    await Promise.all(batch.map((p) => p.commit.discard().catch(() => {})));
    throw releaseFailed.reason;
  }
  if (!(await syncEachFilesystem(batch, syncfs))) {
    // No syncfs, or it reported an error: each file's own fdatasync says which one failed.
    const synced = await Promise.allSettled(batch.map((p) => p.commit.sync()));
    const syncFailed = synced.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (syncFailed) {
      await Promise.all(batch.map((p) => p.commit.discard().catch(() => {})));
      throw syncFailed.reason;
    }
  }
  // Every byte is on disk now; the renames are independent of each other. Released files (closed,
  // with their mode and time) need nothing but the rename: those are renamed here, one after another.
  // A worker thread for them was measured slower (docs/BENCHMARKS.md, issue 14).
  const movable = batch.filter((p) => p.released !== null && p.commit.move);
  const others = batch.filter((p) => !(p.released !== null && p.commit.move));
  const failures: unknown[] = [];
  for (const p of movable) {
    const move = p.commit.move!;
    try {
      renameSync(move.from, move.to);
    } catch (err) {
      failures.push(toXferError(err, `saving '${move.name}'`));
      continue;
    }
    move.moved();
    p.published();
  }
  const published = await Promise.allSettled(others.map((p) => p.commit.publish()));
  for (const [i, p] of others.entries()) if (published[i]?.status === "fulfilled") p.published();
  for (const s of published) if (s.status === "rejected") failures.push(s.reason);
  if (failures.length) throw failures[0];
}

/** One syncfs per filesystem the batch touches (a subfolder may be another mount); false if any failed. */
async function syncEachFilesystem(batch: readonly Pending[], syncfs: Syncfs | null): Promise<boolean> {
  if (!syncfs) return false;
  const pathOfDevice = new Map<number, string>();
  for (const { commit } of batch) if (commit.disk) pathOfDevice.set(commit.disk.dev, commit.disk.path);
  for (const path of pathOfDevice.values()) if (!(await syncfs.sync(path))) return false;
  return true;
}
