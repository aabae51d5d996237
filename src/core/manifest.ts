/**
 * The sender's side of the manifest: local paths walked into the entries a receiver is offered.
 * Synchronous calls: each takes microseconds, and the promise versions' thread-pool round trips
 * cost more than the calls, three times per file (measured on 10,000 small files).
 */
import {
  accessSync,
  constants,
  fstatSync,
  lstatSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  type Stats,
  statSync,
} from "node:fs";
import { basename, dirname, join, posix, resolve } from "node:path";
import { XferError } from "./errors.ts";
import { GarbageReclaimer } from "./memory.ts";
import { unsafeLinkReason } from "./names.ts";
import { OfferedEntries } from "./offered.ts";
import type { ManifestEntry } from "./protocol/messages.ts";

export type { EntrySource, LocalEntry, Offered } from "./offered.ts";

export interface ManifestOptions {
  followSymlinks: boolean;
  /**
   * Without followSymlinks: offer links that point inside the sent tree as links (the session drops
   * them, with a warning, for a receiver that cannot make them). False: skip every link.
   */
  symlinks?: boolean;
  /** Name for data read from standard input (path "-"). */
  stdinName: string;
  /** Told about every path that is left out (symlinks, sockets, devices). */
  onSkip: (path: string, reason: string) => void;
}

const TOP = -1;

export async function buildManifest(paths: readonly string[], opts: ManifestOptions): Promise<OfferedEntries> {
  const out = new OfferedEntries();
  // The walk is one synchronous loop: its garbage (a Stats and a path or two an entry) is
  // collected here or, with 10^6 entries, only well after it ends.
  const reclaimer = new GarbageReclaimer();
  // Only top names can collide: below them every path starts with its own top's name.
  const tops = new Set<string>();
  const top = (name: string) => {
    if (tops.has(name)) throw new XferError("usage", `two sources would both be named '${name}'`);
    tops.add(name);
  };
  for (const path of paths) {
    if (path === "-") {
      top(opts.stdinName);
      out.add(TOP, opts.stdinName, { kind: "file", size: null, mode: 0o644, mtimeMs: Date.now() }, { kind: "stdin" });
      continue;
    }
    const abs = resolve(path);
    const info = statSource(abs);
    const name = basename(abs);
    if (!name || name === "/") throw new XferError("usage", `cannot send '${path}': give a file or folder, not a root`);
    if (info.isDirectory()) {
      top(name);
      walkDir(abs, TOP, name, name, opts, out, new Set([realpathSync(abs)]), dirname(abs), reclaimer);
    } else if (info.isFile()) {
      top(name);
      fileEntry(out, TOP, abs, name, info, { kind: "file", path: abs });
    } else throw new XferError("source-unreadable", `'${path}' is neither a file nor a folder`);
  }
  return out;
}

/** `name`: the folder's name in `parent` (its whole path at the top); `rel`: its offered path. */
function walkDir(
  abs: string,
  parent: number,
  name: string,
  rel: string,
  opts: ManifestOptions,
  out: OfferedEntries,
  ancestors: Set<string>,
  /** The folder holding the sent one: a file's local path is this joined with its offered path. */
  root: string,
  reclaimer: GarbageReclaimer,
): void {
  const info = statSync(abs);
  const dir = out.add(
    parent,
    name,
    { kind: "dir", size: 0, mode: info.mode & 0o7777, mtimeMs: info.mtimeMs },
    undefined,
    parent === TOP ? root : undefined,
  );
  let names: string[];
  try {
    names = readdirSync(abs).sort();
  } catch (err) {
    throw new XferError("source-unreadable", `cannot list '${abs}': ${(err as Error).message}`, { cause: err });
  }
  for (const child of names) {
    reclaimer.fileDone();
    const childAbs = join(abs, child);
    const childRel = `${rel}/${child}`;
    const link = lstatSync(childAbs);
    let info = link;
    if (link.isSymbolicLink()) {
      if (!opts.followSymlinks) {
        const target = opts.symlinks ? linkTarget(childAbs, childRel) : null;
        if (target !== null)
          out.add(dir, child, { kind: "symlink", size: 0, mode: 0o777, mtimeMs: link.mtimeMs, target });
        else
          opts.onSkip(
            childAbs,
            opts.symlinks
              ? "symbolic link pointing outside the sent folder (use --follow-symlinks to send what it points to)"
              : "symbolic link (use --follow-symlinks to send what it points to)",
          );
        continue;
      }
      try {
        info = statSync(childAbs);
      } catch {
        opts.onSkip(childAbs, "dangling symbolic link");
        continue;
      }
    }
    if (info.isDirectory()) {
      const real = realpathSync(childAbs);
      if (ancestors.has(real)) {
        opts.onSkip(childAbs, "symbolic link loop");
        continue;
      }
      walkDir(childAbs, dir, child, childRel, opts, out, new Set([...ancestors, real]), root, reclaimer);
    } else if (info.isFile()) {
      fileEntry(out, dir, childAbs, child, info);
    } else {
      opts.onSkip(childAbs, "not a regular file or folder");
    }
  }
}

/** A link's target if, read as written, it stays inside the sent tree (as tar and rsync -a keep it). */
function linkTarget(abs: string, rel: string): string | null {
  let target: string;
  try {
    target = posix.normalize(readlinkSync(abs));
  } catch {
    return null;
  }
  const top = rel.split("/")[0]!;
  const lands = posix.join(posix.dirname(rel), target);
  if (unsafeLinkReason(rel, target) !== null || (lands !== top && !lands.startsWith(`${top}/`))) return null;
  return target;
}

/**
 * `info`: the file's stat, already read by the walk (a followed link's is its target's, which is what
 * is read and checked unchanged). `source`: a top file's own; a walked one's local path is found from
 * its folder's when read.
 */
function fileEntry(
  out: OfferedEntries,
  parent: number,
  abs: string,
  name: string,
  info: Stats,
  source?: { kind: "file"; path: string },
): void {
  try {
    accessSync(abs, constants.R_OK);
  } catch (err) {
    throw new XferError("source-unreadable", `cannot read '${abs}': permission denied`, { cause: err });
  }
  out.add(parent, name, { kind: "file", size: info.size, mode: info.mode & 0o7777, mtimeMs: info.mtimeMs }, source);
}

function statSource(abs: string): Stats {
  try {
    return statSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file or folder" : (err as Error).message;
    throw new XferError("source-unreadable", `cannot send '${abs}': ${why}`, { cause: err });
  }
}

/** The file still has the size and modification time the offer announced. */
export function assertUnchanged(fd: number, entry: ManifestEntry, path: string): void {
  const now = fstatSync(fd); // synchronous: once or twice per file, and most files are small

  if (now.size !== entry.size || now.mtimeMs !== entry.mtimeMs)
    throw new XferError(
      "source-unreadable",
      `'${path}' changed while being sent (${now.size !== entry.size ? `size ${entry.size} → ${now.size}` : "modified"}); nothing of it was published — run the command again to send the new content`,
    );
}
