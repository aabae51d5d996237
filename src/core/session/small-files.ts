/**
 * Files that fit one frame, read with synchronous calls (in a tree of small files the thread-pool
 * round trips of open, read and close cost more than the calls, measured in docs/BENCHMARKS.md) and
 * sent several at a time: each file's start, data and end are queued here and written together
 * with the next files', so a record, its sealing and its write are paid per group, not per file
 * (docs/PROTOCOL.md §1.5). The receiver sees the same frames in the same order. Files with a resume
 * offset or an existing copy take the sender's general path (they need the prefix hash); the sender
 * flushes the group before those.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { toXferError } from "../errors.ts";
import type { EventSink } from "../events.ts";
import { newHasher } from "../hashing.ts";
import { assertUnchanged, type LocalEntry } from "../manifest.ts";
import type { Progress } from "../progress.ts";
import { allocDataFrame } from "../protocol/frames.ts";
import type { MessageOf } from "../protocol/messages.ts";
import type { SentFile } from "./sender-state.ts";

/** A group goes out as one write (one record) once it holds this many bytes or files. */
export const GROUP_BYTES = 64 * 1024;
export const GROUP_FILES = 64;

export type GroupItem = MessageOf<"file"> | MessageOf<"file-end"> | Uint8Array;

/** What the group needs of the sender's verdict reader. */
export interface SentFiles {
  sentFile(index: number, info: SentFile): void;
  throwIfAborted(): void;
}

export class SmallFiles {
  private items: GroupItem[] = [];
  private bytes = 0;
  private files = 0;

  constructor(
    /** Writes the items at once (SessionChannel.sendAll). */
    private readonly send: (items: readonly GroupItem[]) => Promise<void>,
    private readonly progress: Progress,
    private readonly emit: EventSink,
    private readonly verdicts: SentFiles,
  ) {}

  /** Read and queue one file; returns its hash. A read error leaves what was queued before it unsent. */
  async add(index: number, local: LocalEntry, path: string, size: number): Promise<string> {
    const { frame, payload } = readWhole(local, path, size);
    const hash = (await newHasher()).digestWith(payload);
    this.emit({ event: "file-start", index, path: local.entry.path, size, offset: 0 });
    // Known before the end goes out: the verdict may arrive before the group's write returns.
    this.verdicts.sentFile(index, { bytes: size, hash, resumedFrom: 0 });
    this.items.push({ type: "file", index, offset: 0 });
    if (size > 0) this.items.push(frame);
    this.items.push({ type: "file-end", index, size, hash });
    this.progress.add(size);
    this.bytes += size;
    if (++this.files >= GROUP_FILES || this.bytes >= GROUP_BYTES) await this.flush();
    return hash;
  }

  async flush(): Promise<void> {
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    this.bytes = 0;
    this.files = 0;
    this.verdicts.throwIfAborted();
    await this.send(items);
  }
}

/** A small file's bytes, read into a data frame, checked unchanged since the walk once they are read. */
function readWhole(local: LocalEntry, path: string, size: number): { frame: Uint8Array; payload: Uint8Array } {
  const { frame, payload } = allocDataFrame(size);
  let got = 0;
  try {
    const fd = openSync(path, "r");
    try {
      // Checked once, after the read: any change since the walk shows in the size or time then, and
      // a small file's bytes go nowhere before it (a second fstat a file: ~3 % of the sender's CPU).
      while (got < size) {
        const n = readSync(fd, payload, got, size - got, got);
        if (n === 0) break;
        got += n;
      }
      assertUnchanged(fd, local.entry, path);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw toXferError(err, `reading '${path}'`);
  }
  return { frame, payload };
}
