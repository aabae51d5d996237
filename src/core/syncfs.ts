/**
 * syncfs(2): one call that makes everything written to a filesystem durable. Measured on ext4 with its
 * journal (docs/BENCHMARKS.md): 26 ms for 256 new 4 KiB files, against 300–500 ms for their 256
 * fdatasync calls run in parallel, which each force a journal commit.
 *
 * Neither runtime exposes syncfs, so it runs as coreutils' `sync -f PATH` in a child process: the
 * call then waits off the event loop (a synchronous FFI call blocked it for the whole flush, 0.7 s of
 * 3.3 s for 10,000 files, measured) and works the same under Bun and Deno. Linux only; where `sync -f`
 * is missing or fails, `syncFilesystem` answers false and the caller syncs file by file.
 */
import { execFile } from "node:child_process";

let unavailable = process.platform !== "linux" || Boolean(process.env.XFER_NO_SYNCFS);

export type Syncfs = (path: string) => Promise<boolean>;

/** False where syncFilesystem is known not to work (another OS, or it failed before). */
export function syncfsMayWork(): boolean {
  return !unavailable;
}

/** Make the filesystem holding `path` durable; false when that could not be done this way. */
export const syncFilesystem: Syncfs = (path) => {
  if (unavailable) return Promise.resolve(false);
  return new Promise((resolve) => {
    execFile("sync", ["-f", path], (err) => {
      // Not there (or no -f, as on busybox without it): do not try again.
      if (err && ((err as NodeJS.ErrnoException).code === "ENOENT" || err.code === 1)) unavailable = true;
      resolve(!err);
    });
  });
};
