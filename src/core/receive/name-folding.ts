/**
 * Which names a folder's filesystem treats as one. Linux filesystems mostly tell `a` from `A` and
 * NFC from NFD; macOS (APFS, HFS+) and Windows (NTFS, FAT, exFAT) fold case, and macOS also folds
 * Unicode normalisation. Mounts mix these freely (an exFAT stick on Linux, a case-sensitive APFS
 * volume on a Mac), so the receiving folder itself is asked, never the OS: a probe file is created
 * there and looked up under its other spellings.
 */
import { closeSync, lstatSync, openSync, rmSync } from "node:fs";
import { join } from "node:path";

export interface NameFolding {
  /** `README` and `readme` name the same file here. */
  foldsCase: boolean;
  /** `é` (NFC, U+00E9) and `é` (NFD, e + U+0301) name the same file here. */
  foldsNormalization: boolean;
}

/** What is assumed where the folder cannot be probed (not writable): refuse what might collide. */
export const FOLDS_EVERYTHING: NameFolding = { foldsCase: true, foldsNormalization: true };
export const FOLDS_NOTHING: NameFolding = { foldsCase: false, foldsNormalization: false };

const cache = new Map<string, NameFolding>();

/** Probe `dir` once per process (the answer is cached by path). */
export function probeFolding(dir: string): NameFolding {
  const known = cache.get(dir);
  if (known) return known;
  const found = probe(dir);
  cache.set(dir, found);
  return found;
}

function probe(dir: string): NameFolding {
  const stem = `.xfer-probe-${process.pid}-${Math.random().toString(36).slice(2)}-`;
  // Lower-case letter and NFC é; then looked up as upper case and as NFD.
  const created = join(dir, `${stem}a\u00e9`);
  let fd: number;
  try {
    fd = openSync(created, "wx", 0o600);
  } catch {
    return FOLDS_EVERYTHING;
  }
  closeSync(fd);
  try {
    return {
      foldsCase: exists(join(dir, `${stem}A\u00e9`)),
      foldsNormalization: exists(join(dir, `${stem}ae\u0301`)),
    };
  } finally {
    rmSync(created, { force: true });
  }
}

function exists(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
}

/** The key under which this filesystem files `name`: two names with one key are one file there. */
export function foldName(name: string, folding: NameFolding): string {
  let key = name;
  if (folding.foldsCase) key = key.toLowerCase();
  if (folding.foldsNormalization) key = key.normalize("NFC");
  return key;
}
