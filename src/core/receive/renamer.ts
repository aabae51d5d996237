/**
 * Renames of a published batch run on a worker thread: a tree of small files spent 9–14 % of the
 * receiver's main thread in rename(2) (a journalled directory update each; docs/BENCHMARKS.md,
 * issue 14), time in which it could decrypt, hash and write the next files. The worker gets the
 * batch's paths in one message and answers with each rename's error, if any. The code is inline
 * (a blob URL), so the compiled binary needs no second entry point; where a worker cannot start,
 * the renames run here, as before.
 */

import { renameSync } from "node:fs";

/** Each rename's outcome, in order: null, or the error's code and message. */
export type RenameOutcome = { code: string; message: string } | null;

const WORKER_CODE = `
import { renameSync } from "node:fs";
self.onmessage = (e) => {
  const { id, pairs } = e.data;
  const outcomes = pairs.map(([from, to]) => {
    try {
      renameSync(from, to);
      return null;
    } catch (err) {
      return { code: String(err?.code ?? "EIO"), message: String(err?.message ?? err) };
    }
  });
  self.postMessage({ id, outcomes });
};
`;

interface Waiting {
  resolve(outcomes: RenameOutcome[]): void;
  reject(err: Error): void;
}
type Unreffable = Worker & { ref?: () => void; unref?: () => void };

class WorkerRenamer {
  private nextId = 0;
  private readonly waiting = new Map<number, Waiting>();
  private readonly worker: Unreffable;

  constructor(private readonly onIdleEnd: () => void) {
    const url = URL.createObjectURL(new Blob([WORKER_CODE], { type: "application/javascript" }));
    this.worker = new Worker(url, { type: "module" }) as Unreffable;
    this.worker.onmessage = (e: MessageEvent<{ id: number; outcomes: RenameOutcome[] }>) => {
      const done = this.waiting.get(e.data.id);
      this.waiting.delete(e.data.id);
      this.idle();
      done?.resolve(e.data.outcomes);
    };
    // Should not happen; if it does, which of the batch's renames ran is unknown: the batch fails.
    this.worker.onerror = (e: ErrorEvent) => {
      e.preventDefault?.();
      this.onIdleEnd();
      for (const w of this.waiting.values()) w.reject(new Error(`the renaming thread failed: ${e.message}`));
      this.waiting.clear();
      this.worker.terminate();
    };
    this.worker.unref?.();
  }

  rename(pairs: readonly (readonly [string, string])[]): Promise<RenameOutcome[]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.ref?.();
      this.worker.postMessage({ id, pairs });
    });
  }

  /**
   * An idle worker must not keep the process alive: unreferenced under Bun; Deno's workers cannot
   * be, so there it ends, and the next batch starts another (a few ms per batch of 2,048 files).
   */
  private idle(): void {
    if (this.waiting.size > 0) return;
    if (this.worker.unref) this.worker.unref();
    else {
      this.worker.terminate();
      this.onIdleEnd();
    }
  }
}

let shared: WorkerRenamer | null | undefined;

/** Rename every pair (from, to); on a worker thread where one can start. */
export function renameAll(pairs: readonly (readonly [string, string])[]): Promise<RenameOutcome[]> {
  if (pairs.length === 0) return Promise.resolve([]);
  // undefined: none started yet, or the last one ended idle (Deno); null: none can start here.
  if (shared === undefined) {
    try {
      const renamer: WorkerRenamer = new WorkerRenamer(() => {
        if (shared === renamer) shared = undefined;
      });
      shared = renamer;
    } catch {
      shared = null;
    }
  }
  if (shared) return shared.rename(pairs);
  return Promise.resolve(pairs.map(([from, to]) => renameHere(from, to)));
}

function renameHere(from: string, to: string): RenameOutcome {
  try {
    renameSync(from, to);
    return null;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { code: String(e.code ?? "EIO"), message: String(e.message ?? err) };
  }
}
