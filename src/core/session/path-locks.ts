/**
 * Paths being written by the sessions of one receiver, of every kind: two sessions never write one
 * file. A session that holds paths but has gone silent (its sender was killed, its link cut) is
 * taken over by a new session for the same paths — the same command run again after a crash must
 * work at once, not after the dead session's idle timeout.
 */

import { KeyTable } from "./key-table.ts";

/** A session as the lock table sees it. */
export interface LockHolder {
  /** Milliseconds since the holder last heard anything from its peer. */
  silentForMs(): number;
  /** End the session: it will unlock its paths as it unwinds. */
  abort(reason: Error): void;
}

/** A holder silent this long is taken to be dead. A live peer sends at least every 5 s (pings), data far more often. */
export const TAKEOVER_SILENCE_MS = 2_000;
/** How long a newcomer waits for the holders to fall silent or finish; longer than the 5 s ping interval. */
export const TAKEOVER_WAIT_MS = 7_000;
const POLL_MS = 50;

export const TAKEN_OVER_MESSAGE = "a new session for the same files took over from this silent one";

/**
 * Paths are held by a 52-bit hash, not as strings: a 10^6-entry offer's paths cost ~76 MB as map
 * keys (docs/BENCHMARKS.md, "A huge offer"). Two paths with one hash only make each other's
 * sessions wait (or be refused as busy), never write one file together.
 */
export class PathLocks {
  private readonly held = new KeyTable();
  /** Holders by id (KeyTable keeps ids, 0 meaning none), and their ids while they hold anything. */
  private readonly holders: (LockHolder | undefined)[] = [undefined];
  private readonly ids = new Map<LockHolder, number>();
  /** Keys each id holds: at none it is forgotten, holder and all (a finished session is not kept). */
  private readonly counts: number[] = [0];

  /** Take every path, or none: returns the holders in the way (empty when locked). */
  tryLock(paths: readonly string[], holder: LockHolder): LockHolder[] {
    const blocking = new Set<LockHolder>();
    const keys = paths.map(pathKey);
    const mine = this.ids.get(holder);
    for (const k of keys) {
      const id = this.held.get(k);
      if (id !== 0 && id !== mine) blocking.add(this.holders[id]!);
    }
    if (blocking.size > 0) return [...blocking];
    const id = mine ?? this.idFor(holder);
    for (const k of keys)
      if (this.held.get(k) !== id) {
        this.held.set(k, id);
        this.counts[id]!++;
      }
    if (this.counts[id] === 0) this.forget(holder, id);
    return [];
  }

  /**
   * Lock `paths`, taking them over from holders that are silent (now or within TAKEOVER_WAIT_MS);
   * false if a holder stayed alive all that time (the newcomer is then refused as busy).
   */
  async lock(paths: readonly string[], holder: LockHolder, now: () => number = Date.now): Promise<boolean> {
    const until = now() + TAKEOVER_WAIT_MS;
    const aborted = new Set<LockHolder>();
    for (;;) {
      const blocking = this.tryLock(paths, holder);
      if (blocking.length === 0) return true;
      for (const h of blocking)
        if (!aborted.has(h) && h.silentForMs() >= TAKEOVER_SILENCE_MS) {
          aborted.add(h);
          h.abort(new Error(TAKEN_OVER_MESSAGE));
        }
      // An aborted holder unwinds and unlocks in a moment; a live one gets until the deadline.
      if (now() >= until && blocking.some((h) => !aborted.has(h))) return false;
      if (now() >= until + TAKEOVER_WAIT_MS) return false;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  unlock(paths: readonly string[], holder: LockHolder): void {
    const id = this.ids.get(holder);
    if (id === undefined) return;
    for (const p of paths) {
      const k = pathKey(p);
      if (this.held.get(k) === id) {
        this.held.delete(k);
        this.counts[id]!--;
      }
    }
    if (this.counts[id] === 0) this.forget(holder, id);
  }

  /** Everything `holder` locked, page after page; its id is free again. */
  unlockAll(holder: LockHolder): void {
    const id = this.ids.get(holder);
    if (id === undefined) return;
    this.held.deleteAll(id);
    this.forget(holder, id);
  }

  private forget(holder: LockHolder, id: number): void {
    this.ids.delete(holder);
    this.holders[id] = undefined;
    this.counts[id] = 0;
  }

  private idFor(holder: LockHolder): number {
    let id = this.holders.indexOf(undefined, 1);
    if (id === -1) id = this.holders.push(undefined) - 1;
    this.holders[id] = holder;
    this.counts[id] = 0;
    this.ids.set(holder, id);
    return id;
  }
}

/** Two 32-bit FNV-1a passes over the UTF-16 units with different seeds, 52 bits of them kept. */
export function pathKey(path: string): number {
  let a = 0x811c9dc5;
  let b = 0x2c9277b5;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  b ^= b >>> 15;
  return (a >>> 0) * 2 ** 20 + ((b >>> 0) & 0xfffff);
}
