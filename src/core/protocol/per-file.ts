/**
 * The messages a session sends once per file (`file`, `file-end`, `file-ok`), checked by hand: the
 * schemas in messages.ts say the same (per-file.test.ts holds them to it), but zod's parse was
 * ~1–2.5 µs a message where a tree of small files spends ~250 µs a file (issue 14). A message that
 * does not pass here is left to zod, which rejects it with its own words.
 */
import type { ControlMessage } from "./messages.ts";

const isU53 = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const HASH_HEX = /^[0-9a-f]{64}$/;

export function checkPerFile(raw: Record<string, unknown>): ControlMessage | null {
  switch (raw.type) {
    case "file":
      return isU53(raw.index) && isU53(raw.offset) ? { type: "file", index: raw.index, offset: raw.offset } : null;
    case "file-end":
      return isU53(raw.index) && isU53(raw.size) && typeof raw.hash === "string" && HASH_HEX.test(raw.hash)
        ? { type: "file-end", index: raw.index, size: raw.size, hash: raw.hash }
        : null;
    case "file-ok": {
      if (!isU53(raw.index)) return null;
      const skipped = raw.skipped === undefined ? false : raw.skipped;
      return typeof skipped === "boolean" ? { type: "file-ok", index: raw.index, skipped } : null;
    }
    default:
      return null;
  }
}
