import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FolderListing } from "./folder-listing.ts";

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "xfer-listing-"));
  mkdirSync(join(root, "d"));
  for (let i = 0; i < 20; i++) writeFileSync(join(root, "d", `f${i}`), "");
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const pathOf = (rel: string) => join(root, ...rel.split("/"));

describe("FolderListing", () => {
  test("says absent only for names its listing of the folder lacks, once the folder is asked about often", () => {
    const listing = new FolderListing(pathOf, 100, new Set());
    // The first asks are left to lookups (nothing is known yet).
    for (let i = 0; i < 7; i++) expect(listing.absent(`d/missing${i}`)).toBe(false);
    expect(listing.absent("d/missing7")).toBe(true);
    for (let i = 0; i < 20; i++) expect(listing.absent(`d/f${i}`)).toBe(false);
    expect(listing.absent("d/f20")).toBe(true);
    // A name created after the listing was read is not claimed present or absent wrongly by a new page's listing.
    writeFileSync(join(root, "d", "late"), "");
    const next = new FolderListing(pathOf, 100, new Set());
    for (let i = 0; i < 8; i++) next.absent(`d/x${i}`);
    expect(next.absent("d/late")).toBe(false);
  });

  test("a folder much larger than the page is listed once, then looked up name by name", () => {
    const tooBig = new Set<string>();
    const shared = new FolderListing(pathOf, 1, tooBig);
    for (let i = 0; i < 8; i++) shared.absent(`d/m${i}`);
    // 20 names: within the bound (4 a page entry, and 64 more), listed again by later pages.
    expect(tooBig.has("d")).toBe(false);
    for (let i = 0; i < 80; i++) writeFileSync(join(root, "d", `g${i}`), "");
    const big = new FolderListing(pathOf, 1, tooBig);
    for (let i = 0; i < 8; i++) big.absent(`d/m${i}`);
    expect(tooBig.has("d")).toBe(true);
    const after = new FolderListing(pathOf, 1, tooBig);
    for (let i = 0; i < 20; i++) expect(after.absent(`d/none${i}`)).toBe(false);
  });

  test("an unreadable folder answers nothing", () => {
    const listing = new FolderListing(pathOf, 100, new Set());
    for (let i = 0; i < 20; i++) expect(listing.absent(`gone/f${i}`)).toBe(false);
    expect(listing.absent("top-level-name")).toBe(false);
  });
});
