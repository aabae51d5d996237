/**
 * The sender's offered entries, kept in packed columns until the session ends: a file's name as
 * UTF-8 in one buffer with the number of its folder, its size, mode and time in typed arrays.
 * Objects (a ManifestEntry, its source) are made only when a page or a file asks for them. As
 * objects, three a file (entry, manifest entry, source) held 3 M objects and 220–290 MB of heap
 * after a full collection for a 10^6-file tree (docs/BENCHMARKS.md, "Per-file state made compact").
 */
import { join } from "node:path";
import type { ManifestEntry } from "./protocol/messages.ts";

export type EntrySource = { kind: "file"; path: string } | { kind: "stdin" } | { kind: "dir" } | { kind: "link" };

export interface LocalEntry {
  entry: ManifestEntry;
  source: EntrySource;
}

/** Entries in offer order, each made on request. */
export interface Offered {
  readonly length: number;
  kind(i: number): ManifestEntry["kind"];
  /** Null: unknown (standard input). */
  size(i: number): number | null;
  path(i: number): string;
  entry(i: number): ManifestEntry;
  local(i: number): LocalEntry;
}

const KINDS: readonly ManifestEntry["kind"][] = ["file", "dir", "symlink"];
const DIR_SOURCE: EntrySource = { kind: "dir" };
const LINK_SOURCE: EntrySource = { kind: "link" };
/** No folder above: a top entry, whose name is its whole offered path. */
const TOP = -1;

export class OfferedEntries implements Offered {
  private count = 0;
  private kinds = new Uint8Array(1 << 10);
  /** -1: unknown size. */
  private sizes = new Float64Array(1 << 10);
  private modes = new Uint16Array(1 << 10);
  private mtimes = new Float64Array(1 << 10);
  private parents = new Int32Array(1 << 10);
  /** Where each name starts in `names`; entry `count` is where the next one will. */
  private starts = new Uint32Array(1 << 10);
  private names = Buffer.alloc(1 << 16);
  private used = 0;
  /** Top entries' own sources (a file named on the command line, standard input). */
  private readonly sources = new Map<number, EntrySource>();
  /** Walked folders at the top: the local folder holding each (a walked file's local path is it + its offered path). */
  private readonly roots = new Map<number, string>();
  private readonly targets = new Map<number, string>();
  /** The last folder whose path was asked for: a page's entries mostly share one. */
  private cachedDir = TOP;
  private cachedPath = "";

  /** Entries made as objects (tests, the datagram session's one-message offer). */
  static of(list: readonly LocalEntry[]): OfferedEntries {
    const out = new OfferedEntries();
    for (const { entry, source } of list) out.add(TOP, entry.path, entry, source);
    return out;
  }

  get length(): number {
    return this.count;
  }

  /**
   * Adds an entry and returns its number. `parent`: the number of the folder it was found in (its
   * name is then its own name there), or TOP (-1) with its whole offered path. `source`: a top
   * file's own (not a walked one's: that is its root's folder joined with its offered path).
   * `root`: for a walked folder at the top, the local folder holding it.
   */
  add(
    parent: number,
    name: string,
    e: Pick<ManifestEntry, "kind" | "size" | "mode" | "mtimeMs" | "target">,
    source?: EntrySource,
    root?: string,
  ): number {
    const i = this.count;
    if (i + 2 > this.starts.length) this.growColumns();
    const length = Buffer.byteLength(name);
    if (this.used + length > this.names.length) {
      const names = Buffer.alloc(Math.max(this.names.length * 2, this.used + length));
      this.names.copy(names, 0, 0, this.used);
      this.names = names;
    }
    this.used += this.names.write(name, this.used, "utf8");
    this.starts[i + 1] = this.used;
    this.kinds[i] = KINDS.indexOf(e.kind);
    this.sizes[i] = e.size ?? -1;
    this.modes[i] = e.mode;
    this.mtimes[i] = e.mtimeMs;
    this.parents[i] = parent;
    if (parent === TOP && source && source.kind !== "dir" && source.kind !== "link") this.sources.set(i, source);
    if (root !== undefined) this.roots.set(i, root);
    if (e.target !== undefined) this.targets.set(i, e.target);
    this.count++;
    return i;
  }

  kind(i: number): ManifestEntry["kind"] {
    return KINDS[this.kinds[i]!]!;
  }

  size(i: number): number | null {
    const size = this.sizes[i]!;
    return size < 0 ? null : size;
  }

  path(i: number): string {
    const name = this.names.toString("utf8", this.starts[i]!, this.starts[i + 1]!);
    const parent = this.parents[i]!;
    if (parent === TOP) return name;
    if (parent !== this.cachedDir) {
      this.cachedPath = this.path(parent);
      this.cachedDir = parent;
    }
    return `${this.cachedPath}/${name}`;
  }

  entry(i: number): ManifestEntry {
    const kind = this.kind(i);
    const entry: ManifestEntry = {
      path: this.path(i),
      kind,
      size: this.size(i),
      mode: this.modes[i]!,
      mtimeMs: this.mtimes[i]!,
    };
    const target = kind === "symlink" ? this.targets.get(i) : undefined;
    if (target !== undefined) entry.target = target;
    return entry;
  }

  local(i: number): LocalEntry {
    const entry = this.entry(i);
    return { entry, source: this.sourceOf(i, entry.path) };
  }

  private sourceOf(i: number, path: string): EntrySource {
    const kind = this.kind(i);
    if (kind === "dir") return DIR_SOURCE;
    if (kind === "symlink") return LINK_SOURCE;
    const own = this.sources.get(i);
    if (own) return own;
    let top = i;
    while (this.parents[top]! !== TOP) top = this.parents[top]!;
    const root = this.roots.get(top);
    if (root === undefined) throw new Error(`entry #${i} has no source`);
    return { kind: "file", path: join(root, path) };
  }

  private growColumns(): void {
    const n = this.starts.length * 2;
    const grow = <T extends Uint8Array | Uint16Array | Int32Array | Uint32Array | Float64Array>(
      a: T,
      make: new (n: number) => T,
    ): T => {
      const b = new make(n);
      b.set(a);
      return b;
    };
    this.kinds = grow(this.kinds, Uint8Array);
    this.sizes = grow(this.sizes, Float64Array);
    this.modes = grow(this.modes, Uint16Array);
    this.mtimes = grow(this.mtimes, Float64Array);
    this.parents = grow(this.parents, Int32Array);
    this.starts = grow(this.starts, Uint32Array);
  }
}

/** The entries of `all` that `keep` keeps, in their order (an index a kept entry, 4 bytes). */
export function subset(all: Offered, keep: (i: number) => boolean): Offered {
  let n = 0;
  const chosen = new Uint32Array(all.length);
  for (let i = 0; i < all.length; i++) if (keep(i)) chosen[n++] = i;
  if (n === all.length) return all;
  const at = chosen.subarray(0, n);
  return {
    length: n,
    kind: (i) => all.kind(at[i]!),
    size: (i) => all.size(at[i]!),
    path: (i) => all.path(at[i]!),
    entry: (i) => all.entry(at[i]!),
    local: (i) => all.local(at[i]!),
  };
}

/** Every entry as an object (the datagram session's offer is one message of them all). */
export function allEntries(offered: Offered): LocalEntry[] {
  return Array.from({ length: offered.length }, (_, i) => offered.local(i));
}
