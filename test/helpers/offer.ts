/** An offer as an honest sender pages it (docs/PROTOCOL.md §1.2): head, pages, end. */
import { MAX_PAGE_ENTRIES } from "../../src/core/protocol/messages.ts";

type Entry = { kind: string; size: number | null } & Record<string, unknown>;

export function offerMessages(entries: readonly Entry[], perPage = MAX_PAGE_ENTRIES) {
  const files = entries.filter((e) => e.kind === "file");
  const bytes = files.some((f) => f.size === null) ? null : files.reduce((n, f) => n + (f.size ?? 0), 0);
  const out: Record<string, unknown>[] = [{ type: "offer-head", entries: entries.length, files: files.length, bytes }];
  for (let first = 0; first < entries.length; first += perPage)
    out.push({ type: "offer-page", first, entries: entries.slice(first, first + perPage) });
  out.push({ type: "offer-end" });
  return out as ({ type: string } & Record<string, unknown>)[];
}
