/**
 * Which `*.xfer-part` files in a receiving folder are ours. A name proves nothing (a user may own a
 * `notes.txt.xfer-part`, or copy one of ours from elsewhere), so each part this receiver creates is
 * recorded by its identity: inode number and birth time, as lstat reports them. A file someone else
 * made under that name has another identity (a reused inode number comes with a new birth time),
 * and the peer cannot write here at all: its names are refused inside RECORD_DIR.
 *
 * The record is a journal per receiver process, `RECORD_DIR/parts-<pid>-<random>.log`, one JSON line
 * per part created (~50 bytes, the lines of one event-loop turn in one append: a sidecar file per
 * part cost ~45 µs, measured). It is rewritten every COMPACT_EVERY parts, and with only the parts
 * still present after each session; with none left, it and the folder go. Journals
 * of processes no longer running are adopted then. See docs/SECURITY.md ("Parts are ours").
 */
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  type Stats,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { toXferError, XferError } from "../errors.ts";

/** Under the receiving folder; offered names inside it are refused (ReceiveDir). */
export const RECORD_DIR = ".xfer";
/** Parts created between two rewrites of the journal during a session. */
const COMPACT_EVERY = 4096;
/** A journal larger than this is not one of ours. */
const MAX_JOURNAL_BYTES = 64 << 20;
const JOURNAL_NAME = /^parts-(\d+)-[0-9a-f]+\.log$/;
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

export interface PartIdentity {
  ino: number;
  /** Birth time in whole ms (Bun and Deno round it differently below that); 0 where unknown. */
  born: number;
}

const Line = z.object({ p: z.string().min(1).max(8192), i: z.number().int().nonnegative(), b: z.number() });

export function identityOf(info: Stats): PartIdentity {
  return { ino: info.ino, born: Math.floor(info.birthtimeMs || 0) };
}

export function encodeLine(rel: string, id: PartIdentity): string {
  return `{"p":${JSON.stringify(rel)},"i":${id.ino},"b":${id.born}}\n`;
}

/** One part we made; the same name may have been ours more than once (journals of several receivers). */
export interface RecordedPart {
  rel: string;
  id: PartIdentity;
}
/** By name and inode number. */
export type Recorded = Map<string, RecordedPart>;
/** Same file: same name, inode and birth time (exactly: a record from a filesystem without birth times has 0, as lstat will). */
const keyOf = (rel: string, id: PartIdentity) => `${id.ino}:${id.born}:${rel}`;

/** Parse a journal; a malformed line (a torn last write) is skipped. */
export function decodeJournal(text: string, into: Recorded = new Map()): Recorded {
  for (const line of text.split("\n")) {
    if (!line) continue;
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch {
      continue;
    }
    const parsed = Line.safeParse(doc);
    if (!parsed.success) continue;
    const { p: rel, i: ino, b: born } = parsed.data;
    into.set(keyOf(rel, { ino, born }), { rel, id: { ino, born } });
  }
  return into;
}

export interface PresentPart extends RecordedPart {
  mtimeMs: number;
  size: number;
}

export class PartRecord {
  private known: Recorded | null = null;
  /** Journals of processes that are gone, read into `known`: removed at the next rewrite. */
  private adopted = new Set<string>();
  private fd: number | null = null;
  private readonly name =
    `parts-${process.pid}-${Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex")}.log`;
  private sinceCompact = 0;

  constructor(private readonly root: string) {}

  private get dir(): string {
    return join(this.root, RECORD_DIR);
  }

  /**
   * Remember `rel` (a part path under root), just created by us, as `info` describes it. The line
   * is appended at the end of this event-loop turn, with the others of that turn: a group of small
   * files arrives in one record, and one append a file was ~6 % of the receiver's CPU (profiled,
   * docs/BENCHMARKS.md). The journal is opened here, so that a record that cannot be kept fails the open.
   */
  add(rel: string, info: Stats): void {
    const id = identityOf(info);
    this.load().set(keyOf(rel, id), { rel, id });
    try {
      this.throwIfUnwritten();
      this.fd ??= this.openJournal();
    } catch (err) {
      throw toXferError(err, `cannot record the part '${rel}'`);
    }
    if (!this.unwritten) setImmediate(this.writeLines);
    this.unwritten += encodeLine(rel, id);
    if (++this.sinceCompact >= COMPACT_EVERY) this.rewrite([...this.load().values()]);
  }

  /** Journal lines of parts added in this event-loop turn, not yet appended. */
  private unwritten = "";
  /** An append that failed after its add() returned: the next add() or settle() reports it. */
  private writeFailure: unknown = null;

  private readonly writeLines = (): void => {
    const text = this.unwritten;
    this.unwritten = "";
    if (!text || this.fd === null) return;
    try {
      const bytes = Buffer.from(text);
      for (let done = 0; done < bytes.byteLength; ) done += writeSync(this.fd, bytes, done);
    } catch (err) {
      this.writeFailure ??= err;
    }
  };

  private throwIfUnwritten(): void {
    const failure = this.writeFailure;
    this.writeFailure = null;
    if (failure) throw failure;
  }

  /** The file at `rel`, as lstat saw it, is a part this receiver (or an earlier one here) created. */
  owns(rel: string, info: Stats): boolean {
    const key = keyOf(rel, identityOf(info));
    if (this.load().has(key)) return true;
    // Another receiver on this folder may have made it since we read the journals.
    this.known = null;
    return this.load().has(key);
  }

  /**
   * Our parts still present, with their last modification: what cleanup chooses from. Parts that
   * are gone or replaced are forgotten on the way.
   */
  present(): PresentPart[] {
    const out: PresentPart[] = [];
    const known = this.load();
    for (const [key, { rel, id }] of known) {
      const info = lstatSync(join(this.root, ...rel.split("/")), { throwIfNoEntry: false });
      if (info?.isFile() && keyOf(rel, identityOf(info)) === key)
        out.push({ rel, id, mtimeMs: info.mtimeMs, size: info.size });
      else known.delete(key);
    }
    return out;
  }

  forget(part: RecordedPart): void {
    this.load().delete(keyOf(part.rel, part.id));
  }

  /**
   * Rewrite the journal with only the parts still present (a temporary file renamed over it); with
   * none, remove it, the journals adopted, and the folder if nothing else is in it.
   */
  settle(): void {
    this.writeLines();
    try {
      this.throwIfUnwritten();
    } catch (err) {
      throw toXferError(err, "saving the part record");
    }
    this.rewrite(this.present());
  }

  /**
   * The journal rewritten with `live` alone. Between sessions these are the parts still present;
   * every COMPACT_EVERY parts during one, every part not yet forgotten, unchecked (an lstat of each
   * was ~3 % of the receiver's CPU on a tree of small files; one that is gone is dropped at the settle).
   */
  private rewrite(live: readonly RecordedPart[]): void {
    this.sinceCompact = 0;
    this.unwritten = "";
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    const journal = join(this.dir, this.name);
    try {
      if (live.length === 0) {
        unlinkIfThere(journal);
      } else {
        const temp = `${journal}.tmp`;
        unlinkIfThere(temp);
        const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o600);
        try {
          writeSync(fd, live.map(({ rel, id }) => encodeLine(rel, id)).join(""));
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(temp, journal);
        this.fd = openSync(journal, constants.O_WRONLY | constants.O_APPEND | NOFOLLOW);
      }
      for (const name of this.adopted) unlinkIfThere(join(this.dir, name));
      this.adopted.clear();
      if (live.length === 0) rmdirSync(this.dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTEMPTY" && code !== "EEXIST")
        throw toXferError(err, "saving the part record");
    }
  }

  private load(): Recorded {
    if (this.known) return this.known;
    const known: Recorded = new Map();
    this.known = known;
    const info = lstatSync(this.dir, { throwIfNoEntry: false });
    if (!info) return known;
    if (!info.isDirectory())
      throw new XferError(
        "exists",
        `'${RECORD_DIR}' in the receiving folder is not a folder (this receiver keeps its records there)`,
      );
    for (const name of readdirSync(this.dir)) {
      const pid = JOURNAL_NAME.exec(name)?.[1];
      if (pid === undefined) continue;
      const text = readJournal(join(this.dir, name));
      if (text === null) continue;
      decodeJournal(text, known);
      if (name !== this.name && !isRunning(Number(pid))) this.adopted.add(name);
    }
    return known;
  }

  private openJournal(): number {
    const info = lstatSync(this.dir, { throwIfNoEntry: false });
    if (!info) mkdirSync(this.dir, { mode: 0o700 });
    else if (!info.isDirectory())
      throw new XferError(
        "exists",
        `'${RECORD_DIR}' in the receiving folder is not a folder (this receiver keeps its records there)`,
      );
    const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | NOFOLLOW;
    return openSync(join(this.dir, this.name), flags, 0o600);
  }
}

function readJournal(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | NOFOLLOW);
  } catch {
    return null;
  }
  try {
    return fstatSync(fd).size <= MAX_JOURNAL_BYTES ? readFileSync(fd, "utf8") : null;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

function unlinkIfThere(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
