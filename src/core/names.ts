/**
 * Names offered by a peer are hostile until proven otherwise. A safe name is a relative,
 * '/'-separated path whose every component is a plain file name on every OS we ship to.
 */

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

/** Returns why `name` is unsafe, or null when it is safe to create under the receiver's directory. */
export function unsafeNameReason(name: string): string | null {
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

/** Checks a whole list: each name safe, no duplicates (case-insensitively: macOS and Windows fold case). */
export function checkOfferedNames(names: readonly string[]): { name: string; reason: string } | null {
  const seen = new Set<string>();
  for (const name of names) {
    const reason = unsafeNameReason(name);
    if (reason) return { name, reason };
    const folded = name.normalize("NFC").toLowerCase();
    if (seen.has(folded)) return { name, reason: "duplicate name" };
    seen.add(folded);
  }
  return null;
}
