/**
 * The receiver's exact account of what the network did to the data datagrams (pure): which
 * sequence numbers arrived, how often, in which order, whether intact, and which byte ranges of
 * each file are still missing.
 */

export class Tally {
  private readonly seen = new Set<number>();
  private readonly rebuilt = new Set<number>();
  private highest = -1;
  received = 0;
  duplicated = 0;
  reordered = 0;
  corrupt = 0;
  recovered = 0;

  /** A lost datagram rebuilt from parity; false if it had arrived after all. */
  recover(seq: number): boolean {
    if (this.seen.has(seq)) return false;
    this.seen.add(seq);
    this.rebuilt.add(seq);
    this.recovered++;
    return true;
  }

  /** Returns true when the datagram is new and intact (the caller writes it). */
  record(seq: number, intact: boolean): boolean {
    if (!intact) {
      this.corrupt++;
      return false;
    }
    if (this.seen.has(seq)) {
      // Rebuilt from parity, then it arrived late after all: received, not a duplicate.
      if (this.rebuilt.delete(seq)) {
        this.recovered--;
        this.received++;
        return false;
      }
      this.duplicated++;
      return false;
    }
    this.seen.add(seq);
    this.received++;
    if (seq < this.highest) this.reordered++;
    else this.highest = seq;
    return true;
  }

  report(expected: number) {
    return {
      expected,
      received: this.received,
      lost: Math.max(0, expected - this.received),
      recovered: this.recovered,
      duplicated: this.duplicated,
      reordered: this.reordered,
      corrupt: this.corrupt,
    };
  }
}

/** Bytes in disjoint [start, end) ranges. */
export function rangeBytes(ranges: readonly [number, number][]): number {
  return ranges.reduce((n, [s, e]) => n + e - s, 0);
}

/** Byte ranges received for one file, kept merged; `missing()` is the complement up to the size. */
export class Coverage {
  /** Sorted, disjoint, non-adjacent [start, end). */
  private readonly ranges: [number, number][] = [];

  /** Everything of a `size`-byte file except `missing` (a resumed part). */
  static allBut(missing: readonly [number, number][], size: number): Coverage {
    const c = new Coverage();
    let at = 0;
    for (const [s, e] of [...missing].sort((a, b) => a[0] - b[0])) {
      if (s > at) c.add(at, Math.min(s, size));
      at = Math.max(at, e);
    }
    if (at < size) c.add(at, size);
    return c;
  }

  add(start: number, end: number): void {
    const rs = this.ranges;
    const last = rs[rs.length - 1];
    // Datagrams mostly arrive in order: extend the last range without searching.
    if (last && last[1] === start) {
      last[1] = end;
      return;
    }
    let lo = 0;
    let hi = rs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((rs[mid] as [number, number])[1] < start) lo = mid + 1;
      else hi = mid;
    }
    const i = lo;
    let s = start;
    let e = end;
    let j = i;
    while (j < rs.length && (rs[j] as [number, number])[0] <= e) {
      s = Math.min(s, (rs[j] as [number, number])[0]);
      e = Math.max(e, (rs[j] as [number, number])[1]);
      j++;
    }
    rs.splice(i, j - i, [s, e]);
  }

  missing(size: number): [number, number][] {
    const out: [number, number][] = [];
    let at = 0;
    for (const [s, e] of this.ranges) {
      if (s > at) out.push([at, Math.min(s, size)]);
      at = Math.max(at, e);
    }
    if (at < size) out.push([at, size]);
    return out.filter(([s, e]) => e > s);
  }
}
