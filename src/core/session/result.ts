import { newHasher } from "../hashing.ts";

export interface SessionResult {
  /** Files the receiver saved and verified. */
  files: number;
  /** Files that did not make it, with the reason (the session still completed). */
  failures: { code: string; message: string }[];
  bytes: number;
  seconds: number;
  /** The file's hash for one file; for several, a hash over the sorted (name, hash) list. */
  hash: string;
}

export async function summaryHash(hashes: ReadonlyMap<string, string>): Promise<string> {
  if (hashes.size === 1) return [...hashes.values()][0]!;
  const h = await newHasher();
  for (const name of [...hashes.keys()].sort()) h.update(new TextEncoder().encode(`${name}\0${hashes.get(name)}\n`));
  return h.digest();
}
