/**
 * Names offered by a peer are hostile until proven otherwise. A safe name is a relative,
 * '/'-separated path whose every component is a plain file name on every OS we ship to.
 */

import { type NameSource, NameTable } from "./name-table.ts";
import { foldName, type NameFolding } from "./receive/name-folding.ts";

const MAX_COMPONENT_BYTES = 255;
const MAX_PATH_BYTES = 4096;
/** Folders deep: real trees (node_modules) nest a few dozen; thousands only exhaust the receiver. */
export const MAX_PATH_DEPTH = 256;
/** Reserved device names on Windows, with or without an extension. */
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what we refuse
const FORBIDDEN_CHARS = /[\u0000-\u001f\u007f\\:*?"<>|]/;
/**
 * Characters that make a name look like another one or drive a terminal: C1 controls, bidi
 * overrides, isolates and marks (a name that reads "txt.exe" as "exe.txt"), zero-width spaces and
 * other invisible formatting, and noncharacters. Refused, not escaped: no real file needs them. The
 * joiners (U+200C/U+200D) and variation selectors stay allowed: Persian words and emoji need them.
 */
const DECEPTIVE_CHARS =
  /[\u0080-\u009f\u00ad\u061c\u115f\u1160\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufeff\ufff9-\ufffb]|\p{Noncharacter_Code_Point}/u;
/** Half of a UTF-16 pair without its other half: two such names can land on the same file. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
export const PART_SUFFIX = ".xfer-part";

/** A component that is empty, `.` or `..`; one ending with a dot or space; a device name. */
const BAD_COMPONENT = /(?:^|\/)\.{0,2}(?:\/|$)|[. ](?:\/|$)/;
const RESERVED_COMPONENT = /(?:^|\/)(?:con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(?:\.[^/]*)?(?:\/|$)/i;

/**
 * Returns why `name` is unsafe, or null when it is safe to create under the receiver's directory.
 * Most names are safe: they are checked whole first, without splitting them (a 10^6-entry offer's
 * per-component strings were a large part of the receiver's peak memory); only a name that fails
 * there, or is long enough to need the per-component byte counts, goes through the full walk,
 * which says why. names.test.ts holds the two to the same answers.
 */
export function unsafeNameReason(name: string): string | null {
  return looksSafe(name) ? null : componentReason(name);
}

/** A component this many UTF-16 units long may pass 255 bytes of UTF-8 (3 bytes a unit at most). */
const LONG_COMPONENT = new RegExp(`[^/]{${Math.floor(MAX_COMPONENT_BYTES / 3) + 1}}`);

function looksSafe(name: string): boolean {
  // Too short to be too deep (a folder takes 2 characters); long ones are counted in the full walk.
  if (name.length === 0 || name.length >= 2 * MAX_PATH_DEPTH - 1 || name.startsWith("/")) return false;
  if (Buffer.byteLength(name) > MAX_PATH_BYTES || LONG_COMPONENT.test(name)) return false;
  return !(
    /^[a-zA-Z]:/.test(name) ||
    FORBIDDEN_CHARS.test(name) ||
    LONE_SURROGATE.test(name) ||
    DECEPTIVE_CHARS.test(name) ||
    BAD_COMPONENT.test(name) ||
    RESERVED_COMPONENT.test(name) ||
    name.endsWith(PART_SUFFIX)
  );
}

/** The full check, component by component. */
export function componentReason(name: string): string | null {
  if (name.length === 0) return "empty name";
  if (Buffer.byteLength(name) > MAX_PATH_BYTES) return "path too long";
  if (name.startsWith("/")) return "absolute path";
  if (/^[a-zA-Z]:/.test(name)) return "drive letter";
  const parts = name.split("/");
  if (parts.length > MAX_PATH_DEPTH) return `more than ${MAX_PATH_DEPTH} folders deep`;
  for (const part of parts) {
    if (part === "") return "empty path component (// or trailing /)";
    if (part === "." || part === "..") return `'${part}' component`;
    if (FORBIDDEN_CHARS.test(part)) return "control or reserved character";
    if (LONE_SURROGATE.test(part)) return "lone surrogate (not valid Unicode)";
    if (DECEPTIVE_CHARS.test(part)) return "invisible, bidi-control or C1 character";
    if (/[. ]$/.test(part)) return "component ends with a dot or space";
    if (WINDOWS_RESERVED.test(part)) return `reserved device name '${part}'`;
    if (Buffer.byteLength(part) > MAX_COMPONENT_BYTES) return "component too long";
  }
  if (name.endsWith(PART_SUFFIX)) return `name ends with ${PART_SUFFIX}`;
  return null;
}

export interface OfferedNamesCheck {
  /** A name no receiver may create, or the same path twice: the whole offer is refused. */
  fatal: { name: string; reason: string } | null;
  /**
   * Entries whose names this filesystem cannot hold beside an earlier entry (they differ only in
   * case or Unicode normalisation, where the filesystem folds those), or that lie inside such a
   * folder: by index, why. The first spelling offered wins; only these are refused.
   */
  collisions: Map<number, string>;
}

/** Checks a whole list: each name safe, no path twice, and which ones `folding` makes collide. */
export function checkOfferedNames(names: readonly string[], folding: NameFolding): OfferedNamesCheck {
  return new OfferedNames(folding).check(names, 0);
}

/**
 * The names of one offer, checked page by page: for any split of the list into pages, the pages
 * together get what checkOfferedNames says of the whole (names.test.ts). What it keeps of the names
 * seen is compact (NameTable), so a 10^6-entry offer costs tens of MB here, not hundreds.
 */
export class OfferedNames implements NameSource {
  /** Folded keys, by number. */
  private readonly keys = new NameTable();
  /** The spelling that holds each key (the same table where nothing folds). */
  private readonly spellings: NameTable;
  /** Refused paths: whatever lies inside a refused folder is refused too. */
  private readonly refused = new Set<string>();

  constructor(private readonly folding: NameFolding) {
    this.spellings = folding.foldsCase || folding.foldsNormalization ? new NameTable() : this.keys;
  }

  /** The number of a name taken (checked and not refused) in this offer, or -1. */
  idOf(name: string): number {
    const id = this.keys.find(foldName(name, this.folding));
    return id >= 0 && (this.spellings === this.keys || this.spellings.name(id) === name) ? id : -1;
  }

  /** The taken names' bytes, by number (NameSource, for the summary hash). */
  get bytes(): Uint8Array {
    return this.spellings.bytes;
  }

  startOf(id: number): number {
    return this.spellings.startOf(id);
  }

  /** The next page's names, the first of them at offer index `first`; collisions by offer index. */
  check(names: readonly string[], first: number): OfferedNamesCheck {
    const collisions = new Map<number, string>();
    const { folding, keys, spellings, refused } = this;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const index = first + i;
      const reason = unsafeNameReason(name);
      if (reason) return { fatal: { name, reason }, collisions };
      const inside = refused.size > 0 ? refusedAncestor(name, refused) : null;
      if (inside !== null) {
        collisions.set(index, `it is inside '${inside}', which was refused`);
        refused.add(name);
        continue;
      }
      const key = foldName(name, folding);
      const id = keys.find(key);
      if (id >= 0) {
        const earlier = spellings === keys ? key : spellings.name(id);
        if (earlier === name) return { fatal: { name, reason: "duplicate name" }, collisions };
        collisions.set(index, `this receiver's filesystem cannot hold it beside '${earlier}' (${foldedWhat(folding)})`);
        refused.add(name);
        continue;
      }
      keys.add(key);
      if (spellings !== keys) spellings.add(name);
    }
    return { fatal: null, collisions };
  }
}

function refusedAncestor(name: string, refused: ReadonlySet<string>): string | null {
  for (let at = name.indexOf("/"); at !== -1; at = name.indexOf("/", at + 1)) {
    const prefix = name.slice(0, at);
    if (refused.has(prefix)) return prefix;
  }
  return null;
}

function foldedWhat(folding: NameFolding): string {
  if (folding.foldsCase && folding.foldsNormalization) return "it ignores case and Unicode normalisation";
  return folding.foldsCase ? "it ignores case" : "it ignores Unicode normalisation";
}

/**
 * Returns why a symbolic link at `path` pointing to `target` could lead outside the receiving
 * folder, or null. Allowed: relative targets made of leading `..` then plain names, that stay inside
 * the folder counted from the link's own folder. With `..` only at the start, following any chain of
 * such links never leaves the folder (each link's folder is a real folder: checked on the receiver).
 */
export function unsafeLinkReason(path: string, target: string | undefined): string | null {
  if (!target) return "symbolic link without a target";
  if (target.startsWith("/") || /^[a-zA-Z]:/.test(target)) return "absolute link target";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what we refuse
  if (/[\u0000-\u001f\u007f\\]/.test(target)) return "control character or backslash in link target";
  if (Buffer.byteLength(target) > MAX_PATH_BYTES) return "link target too long";
  const parts = target.split("/");
  let up = 0;
  while (parts[up] === "..") up++;
  for (const part of parts.slice(up))
    if (part === "" || part === "." || part === "..") return "link target must be '../' steps, then plain names";
  const depth = path.split("/").length - 1;
  if (up > depth) return "link target points outside the receiving folder";
  return null;
}

/** For messages: show control characters instead of letting a hostile name drive the terminal. */
export function printable(name: string): string {
  return JSON.stringify(name)
    .slice(1, -1)
    .replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
