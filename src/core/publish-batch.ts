/**
 * Batched durability for many small files. A file that verified is not synced and renamed on its
 * own: it waits here, still under its part name, until enough have gathered; then the batch is made
 * durable at once (one syncfs per filesystem where it can, src/core/syncfs.ts, else every
 * file's fdatasync in parallel), and only after that returned are the files given their final
 * names. One fdatasync per file forced one journal commit per file (measured in docs/BENCHMARKS.md).
 *
 * The guarantee is unchanged: nothing takes its final name before its bytes are on disk. Until a
 * batch is published its files are complete part files, which a resume finds and verifies.
 */
import { lstatSync } from "node:fs";
import { type Syncfs, syncFilesystem } from "./syncfs.ts";

/** A verified file, ready to be made durable and then visible. */
export interface Commit {
  /** Bytes of the file: a batch holding many bytes is flushed early. */
  readonly bytes: number;
  /** The part file, for syncfs; null when there is nothing on disk to sync (standard output). */
  readonly path: string | null;
  /** fdatasync the part (where syncfs is not available); nothing is visible yet. */
  sync(): Promise<void>;
  /** Give the synced part its final name, mode and time. */
  publish(): Promise<void>;
  /** Close without publishing (the session failed first); the part stays for a resume. */
  discard(): Promise<void>;
}

export interface BatchLimits {
  files: number;
  bytes: number;
}

/**
 * 256 files: enough that a sync covers many files, few enough open descriptors. 64 MiB: a large file
 * is published soon after it arrives (its own writeback already ran in the background).
 */
export const DEFAULT_BATCH_LIMITS: BatchLimits = { files: 256, bytes: 64 << 20 };

interface Pending {
  commit: Commit;
  /** Runs once the file is published (report it). */
  published: () => void;
}

export class PublishBatch {
  private pending: Pending[] = [];
  private pendingBytes = 0;
  /** The batch being synced and published in the background, or null. */
  private flushing: Promise<void> | null = null;
  private failure: unknown = null;

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
    this.pending.push({ commit, published });
    this.pendingBytes += commit.bytes;
    if (this.pending.length >= this.limits.files || this.pendingBytes >= this.limits.bytes) {
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
    await Promise.all(left.map((p) => p.commit.discard().catch(() => {})));
  }

  private startFlush(): void {
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
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

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}

async function flushBatch(batch: readonly Pending[], syncfs: Syncfs | null): Promise<void> {
  if (!(await syncEachFilesystem(batch, syncfs))) {
    // No syncfs, or it reported an error: each file's own fdatasync says which one failed.
    const synced = await Promise.allSettled(batch.map((p) => p.commit.sync()));
    const syncFailed = synced.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (syncFailed) {
      await Promise.all(batch.map((p) => p.commit.discard().catch(() => {})));
      throw syncFailed.reason;
    }
  }
  // Every byte is on disk now; the renames are independent of each other.
  const published = await Promise.allSettled(batch.map((p) => p.commit.publish()));
  for (const [i, p] of batch.entries()) if (published[i]?.status === "fulfilled") p.published();
  const publishFailed = published.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (publishFailed) throw publishFailed.reason;
}

/** One syncfs per filesystem the batch touches (a subfolder may be another mount); false if any failed. */
async function syncEachFilesystem(batch: readonly Pending[], syncfs: Syncfs | null): Promise<boolean> {
  if (!syncfs) return false;
  const pathOfDevice = new Map<number, string>();
  for (const { commit } of batch) if (commit.path !== null) pathOfDevice.set(lstatSync(commit.path).dev, commit.path);
  for (const path of pathOfDevice.values()) if (!(await syncfs(path))) return false;
  return true;
}
