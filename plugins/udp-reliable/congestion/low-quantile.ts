/**
 * A low quantile of one round's RTT samples, where the round's minimum would do on a FIFO path.
 * A packet that skipped a delay (reordering) returns early, and a flow with many samples a round
 * almost always has one: its minimum then shows no queue while a smaller flow on the same
 * bottleneck, with fewer samples, sees the real one — so only the small flows read their loss as
 * congestion and are cut (measured: 5 flows, 2 % reordering, Jain 0.52). A quantile is as robust
 * as its rank: reordered samples below it are discarded. Samples are weighted by the data they
 * acknowledge: a reordered packet is acknowledged at once and alone, the rest ten to an ACK, so
 * counted per sample 2 % reordering made 17 % of a fast flow's samples. Only the lowest `keep`
 * samples are held, so memory and work per sample stay constant however many a round brings.
 */
export class LowQuantile {
  /** Ascending by value. */
  private readonly lowest: { value: number; weight: number }[] = [];
  private total = 0;

  constructor(
    /** The quantile (0.1: a tenth of the weight lies below it). */
    private readonly q: number,
    private readonly keep = 64,
  ) {}

  add(value: number, weight = 1): void {
    if (!(weight > 0)) return;
    this.total += weight;
    const low = this.lowest;
    if (low.length === this.keep && value >= (low[low.length - 1] as { value: number }).value) return;
    let i = low.length;
    while (i > 0 && (low[i - 1] as { value: number }).value > value) i--;
    low.splice(i, 0, { value, weight });
    if (low.length > this.keep) low.pop();
  }

  /** The lowest sample with more than q of the weight at or below it (the highest held, if fewer); Infinity when none. */
  get value(): number {
    const rank = this.q * this.total;
    let below = 0;
    for (const s of this.lowest) {
      below += s.weight;
      if (below > rank) return s.value;
    }
    const last = this.lowest[this.lowest.length - 1];
    return last ? last.value : Number.POSITIVE_INFINITY;
  }

  reset(): void {
    this.lowest.length = 0;
    this.total = 0;
  }
}
