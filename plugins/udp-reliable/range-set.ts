/** A set of integers kept as sorted, disjoint, non-adjacent half-open ranges [start, end). */
export class RangeSet {
  /** Ascending. */
  readonly ranges: { start: number; end: number }[] = [];

  add(start: number, end: number): void {
    if (end <= start) return;
    const rs = this.ranges;
    // First range whose end reaches start (may merge).
    const i = this.firstEndingAtOrAfter(start);
    let s = start;
    let e = end;
    let j = i;
    while (j < rs.length && (rs[j] as { start: number }).start <= e) {
      const r = rs[j] as { start: number; end: number };
      s = Math.min(s, r.start);
      e = Math.max(e, r.end);
      j++;
    }
    rs.splice(i, j - i, { start: s, end: e });
  }

  /** True if every integer of [start, end) is in the set. */
  covers(start: number, end: number): boolean {
    const r = this.ranges[this.firstEndingAtOrAfter(start + 1)];
    return r !== undefined && r.start <= start && r.end >= end;
  }

  /** The parts of [start, end) not in the set, ascending. */
  missing(start: number, end: number): { start: number; end: number }[] {
    const out: { start: number; end: number }[] = [];
    let at = start;
    for (let i = this.firstEndingAtOrAfter(start + 1); i < this.ranges.length && at < end; i++) {
      const r = this.ranges[i] as { start: number; end: number };
      if (r.start >= end) break;
      if (r.start > at) out.push({ start: at, end: r.start });
      at = Math.max(at, r.end);
    }
    if (at < end) out.push({ start: at, end });
    return out;
  }

  /** Drops everything below `floor` (already consumed). */
  trimBelow(floor: number): void {
    const rs = this.ranges;
    let n = 0;
    while (n < rs.length && (rs[n] as { end: number }).end <= floor) n++;
    if (n) rs.splice(0, n);
    const first = rs[0];
    if (first && first.start < floor) first.start = floor;
  }

  /** Index of the first range with end ≥ x (binary search). */
  private firstEndingAtOrAfter(x: number): number {
    let lo = 0;
    let hi = this.ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.ranges[mid] as { end: number }).end < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
