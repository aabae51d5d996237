/**
 * Opening a file the peer named, so that nobody can redirect it: no link is followed at the last
 * step (O_NOFOLLOW), and on Linux the opened handle's real path is read back from /proc and must
 * be the expected one — a folder on the way swapped for a link between our checks and the open
 * is caught here. (Node has no openat(2); this is the check that stands in for it.)
 *
 * Synchronous calls and a bare descriptor: a tree of small files opens one file after another, and
 * each thread-pool round trip of the asynchronous form cost more than the open itself
 * (docs/BENCHMARKS.md, issue 14).
 */
import { closeSync, constants, existsSync, openSync, readlinkSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { XferError } from "../errors.ts";
import { printable } from "../names.ts";

/** Whether every opened handle's path is read back here (callers may lean on that check). */
export const CAN_READ_BACK = process.platform === "linux" && existsSync("/proc/self/fd");
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/** Returns a descriptor the caller must close. */
export function openInsideSync(realRoot: string, path: string, rel: string, flags: number, mode?: number): number {
  const fd = openSync(path, flags | NOFOLLOW, mode);
  if (!CAN_READ_BACK) return fd;
  let actual: string;
  try {
    actual = readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return fd;
  }
  if (actual === expectedPath(realRoot, rel)) return fd;
  closeSync(fd);
  if (createdHere(flags)) {
    try {
      unlinkSync(actual);
    } catch {}
  }
  throw replaced(rel);
}

const expectedPath = (realRoot: string, rel: string) => join(realRoot, ...rel.split("/"));

/** Created by this very call (O_EXCL), somewhere it must not be: the caller takes it back. */
const createdHere = (flags: number) => (flags & constants.O_CREAT) !== 0 && (flags & constants.O_EXCL) !== 0;

const replaced = (rel: string) =>
  new XferError("unsafe-name", `refusing '${printable(rel)}': a folder on its way was replaced while it was opened`);
