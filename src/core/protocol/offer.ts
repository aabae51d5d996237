/**
 * The two messages that grow with the manifest, an offer's page and its accept, checked in place.
 * zod's parse of a 10^6-entry offer built a second copy of every entry (and its issue bookkeeping):
 * +400 MB of peak memory and 0.6 s when the offer was one message (docs/BENCHMARKS.md, "Huge
 * offers"); in pages the copies are small, but the time is the same. This accepts exactly what the ManifestEntry schema accepts
 * (offer.test.ts holds the two side by side) and keeps the parsed objects; fields it does not know
 * stay on them unread, as the schema would drop them.
 */
import { type AcceptedFile, MAX_PAGE_ENTRIES, type ManifestEntry, RefusedEntry } from "./messages.ts";

const KINDS = new Set(["file", "dir", "symlink"]);
const MAX_PATH_CHARS = 4096;

const isIndex = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;

/** A page's entries, or where and why they are not valid (as zod words its first issue). */
export function checkOfferEntries(raw: unknown): { entries: ManifestEntry[] } | { problem: string } {
  if (!Array.isArray(raw)) return { problem: "entries: expected array" };
  if (raw.length === 0) return { problem: "entries: a page holds at least one entry" };
  if (raw.length > MAX_PAGE_ENTRIES) return { problem: `entries: at most ${MAX_PAGE_ENTRIES} entries in a page` };
  for (let i = 0; i < raw.length; i++) {
    const why = entryProblem(raw[i]);
    if (why) return { problem: `entries.${i}.${why}` };
  }
  return { entries: raw as ManifestEntry[] };
}

function entryProblem(e: unknown): string | null {
  if (typeof e !== "object" || e === null || Array.isArray(e)) return " expected object";
  const { path, kind, target, size, mode, mtimeMs } = e as Record<string, unknown>;
  if (typeof path !== "string" || path.length < 1 || path.length > MAX_PATH_CHARS) return "path invalid";
  if (typeof kind !== "string" || !KINDS.has(kind)) return "kind invalid";
  if (target !== undefined && (typeof target !== "string" || target.length < 1 || target.length > MAX_PATH_CHARS))
    return "target invalid";
  if (size !== null && !(Number.isSafeInteger(size) && (size as number) >= 0)) return "size invalid";
  if (!(Number.isInteger(mode) && (mode as number) >= 0 && (mode as number) <= 0o7777)) return "mode invalid";
  if (typeof mtimeMs !== "number" || !Number.isFinite(mtimeMs)) return "mtimeMs invalid";
  return null;
}

const HASH_HEX = /^[0-9a-f]{64}$/;
const Refused = RefusedEntry.array();

/**
 * An accept's files checked in place (the sender of a 10^6-file tree parses 45 MB of them), with the
 * schema's default (`existing: false`) filled in; its refusals, usually few, by the schema.
 */
export function checkAccept(
  raw: Record<string, unknown>,
): { first: number; files: AcceptedFile[]; refused: RefusedEntry[] } | { problem: string } {
  const { first, files } = raw;
  if (!isIndex(first)) return { problem: "first invalid" };
  if (!Array.isArray(files)) return { problem: "files: expected array" };
  for (let i = 0; i < files.length; i++) {
    const f = files[i] as Record<string, unknown> | null;
    if (typeof f !== "object" || f === null || Array.isArray(f)) return { problem: `files.${i} expected object` };
    if (!isIndex(f.index)) return { problem: `files.${i}.index invalid` };
    if (!isIndex(f.offset)) return { problem: `files.${i}.offset invalid` };
    if (f.prefixHash !== undefined && !(typeof f.prefixHash === "string" && HASH_HEX.test(f.prefixHash)))
      return { problem: `files.${i}.prefixHash invalid` };
    if (f.existing === undefined) f.existing = false;
    else if (typeof f.existing !== "boolean") return { problem: `files.${i}.existing invalid` };
  }
  const refused = Refused.safeParse(raw.refused === undefined ? [] : raw.refused);
  if (!refused.success) return { problem: `refused: ${refused.error.issues[0]?.message}` };
  return { first: first as number, files: files as AcceptedFile[], refused: refused.data };
}

/** A page's index, checked as the schema would. */
export function checkPageFirst(first: unknown): number | null {
  return isIndex(first) ? (first as number) : null;
}
