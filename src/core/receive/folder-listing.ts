/**
 * Names one offer page's check knows to be absent, from one listing of a folder instead of a lookup
 * of each name: a page of 4,096 new or already-there files looked up every file and its part (two to
 * five lstats a file, most answering "no such file"; docs/BENCHMARKS.md, issue 14). Only "absent" is
 * answered: a name the listing holds is still looked up, so what is there is always seen first hand.
 *
 * Only for filesystems that fold nothing (name-folding.ts): where `A` finds `a`, a listing would miss
 * it. Read during one page's check, like the lookups it replaces, and never kept past that page.
 */
import { readdirSync } from "node:fs";

/** Lookups in one folder, within one page, before it is listed instead (a few names: lookups are cheaper). */
const LIST_AFTER = 8;
/** A folder whose listing outgrows a page's entries this many times over is looked up name by name instead. */
const LISTING_PER_ENTRY = 4;

export class FolderListing {
  private readonly asked = new Map<string, number>();
  private readonly listed = new Map<string, Set<string>>();

  /**
   * `pathOf` maps a path under the receiving folder to the real path; `pageEntries` bounds what
   * listing may cost; `tooBig` (kept by the caller for a whole offer) names folders not to list again.
   */
  constructor(
    private readonly pathOf: (rel: string) => string,
    private readonly pageEntries: number,
    private readonly tooBig: Set<string>,
  ) {}

  /** True only when `rel`'s folder was listed during this page's check without it. */
  absent(rel: string): boolean {
    const slash = rel.lastIndexOf("/");
    const folder = slash > 0 ? rel.slice(0, slash) : "";
    let names = this.listed.get(folder);
    if (!names) {
      if (this.tooBig.has(folder)) return false;
      const asked = (this.asked.get(folder) ?? 0) + 1;
      this.asked.set(folder, asked);
      if (asked < LIST_AFTER) return false;
      const read = this.read(folder);
      if (!read) return false;
      names = read;
    }
    return !names.has(slash > 0 ? rel.slice(slash + 1) : rel);
  }

  private read(folder: string): Set<string> | null {
    let names: string[];
    try {
      names = readdirSync(this.pathOf(folder));
    } catch {
      // Unreadable or gone: the lookups say what is there, as before.
      this.tooBig.add(folder);
      return null;
    }
    if (names.length > LISTING_PER_ENTRY * this.pageEntries + 64) this.tooBig.add(folder);
    const set = new Set(names);
    this.listed.set(folder, set);
    return set;
  }
}
