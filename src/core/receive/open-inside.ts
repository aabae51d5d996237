/**
 * Opening a file the peer named, so that nobody can redirect it: no link is followed at the last
 * step (O_NOFOLLOW), and on Linux the opened handle's real path is read back from /proc and must
 * be the expected one — a folder on the way swapped for a link between our checks and the open
 * is caught here. (Node has no openat(2); this is the check that stands in for it.)
 */
import { constants } from "node:fs";
import { type FileHandle, open, readlink, unlink } from "node:fs/promises";
import { join } from "node:path";
import { XferError } from "../errors.ts";

const CAN_READ_BACK = process.platform === "linux";

export async function openInside(
  realRoot: string,
  path: string,
  rel: string,
  flags: number,
  mode?: number,
): Promise<FileHandle> {
  const fh = await open(path, flags | (constants.O_NOFOLLOW ?? 0), mode);
  if (!CAN_READ_BACK) return fh;
  const expected = join(realRoot, ...rel.split("/"));
  let actual: string;
  try {
    actual = await readlink(`/proc/self/fd/${fh.fd}`);
  } catch {
    return fh; // No /proc (a container without it): the checks before the open must do.
  }
  if (actual === expected) return fh;
  await fh.close();
  // Created by this very call (O_EXCL), somewhere it must not be: take it back.
  if (flags & constants.O_CREAT && flags & constants.O_EXCL) await unlink(actual).catch(() => {});
  throw new XferError("unsafe-name", `refusing '${rel}': a folder on its way was replaced while it was opened`);
}
