/** The loss report as an event, with file names instead of indexes. */
import type { XferEvent } from "../events.ts";
import type { ManifestEntry } from "../protocol/messages.ts";
import type { DgReport } from "./messages.ts";

export function reportEvent(
  r: DgReport,
  entries: readonly ManifestEntry[],
  missingFiles?: Map<number, string>,
): XferEvent {
  return {
    event: "loss-report",
    expected: r.expected,
    received: r.received,
    lost: r.lost,
    recovered: r.recovered,
    duplicated: r.duplicated,
    reordered: r.reordered,
    corrupt: r.corrupt,
    files: r.files.map((f) => ({
      path: entries[f.index]?.path ?? `#${f.index}`,
      status: f.status,
      missing: f.missing,
      ...(missingFiles?.get(f.index) ? { missingFile: missingFiles.get(f.index) } : {}),
    })),
  };
}
