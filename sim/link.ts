/**
 * One direction of a simulated path, in the spirit of netem and bench/netlab/linkemu.c: random
 * loss before the queue, a drop-tail queue of `queuePackets`, serialisation at `rateBytesPerSec`,
 * then propagation `delayMs` + jitter. Duplication, reordering and blackouts (everything dropped
 * in [from, to)) are seeded, so a failing run replays exactly. Reordering comes two ways: netem's
 * (`reorder`: the packet skips the delay and jitter, so it arrives a whole propagation delay
 * early, as `tc netem … reorder` and linkemu.c's --reorder do) and a late packet (`late`: it takes
 * half the delay again).
 * Corruption is not modelled: the UDP checksum turns it into loss before the transport sees it.
 */
export interface LinkSpec {
  rateBytesPerSec: number;
  delayMs: number;
  jitterMs?: number;
  loss?: number;
  duplicate?: number;
  /** Share of packets sent on at once, skipping delay and jitter (netem's `reorder`). */
  reorder?: number;
  /** Share of packets held back by half the delay again (a slow path of a multipath link). */
  late?: number;
  queuePackets?: number;
  blackouts?: { from: number; to: number }[];
}

export interface LinkCounters {
  offered: number;
  lost: number;
  queueDrops: number;
  duplicated: number;
  reordered: number;
  delivered: number;
}

export class Link {
  private nextFree = 0;
  private readonly departures: number[] = [];
  private departHead = 0;
  readonly counters: LinkCounters = { offered: 0, lost: 0, queueDrops: 0, duplicated: 0, reordered: 0, delivered: 0 };

  constructor(
    readonly spec: LinkSpec,
    private readonly random: () => number,
  ) {}

  /** Arrival times of `bytes` offered at `now` (empty: dropped; two: duplicated). */
  offer(bytes: Uint8Array, now: number): { at: number; bytes: Uint8Array }[] {
    const s = this.spec;
    this.counters.offered++;
    if (s.blackouts?.some((b) => now >= b.from && now < b.to)) {
      this.counters.lost++;
      return [];
    }
    if (s.loss && this.random() < s.loss) {
      this.counters.lost++;
      return [];
    }
    while (this.departHead < this.departures.length && (this.departures[this.departHead] as number) <= now)
      this.departHead++;
    if (this.departHead > 4096) {
      this.departures.splice(0, this.departHead);
      this.departHead = 0;
    }
    if (this.departures.length - this.departHead >= (s.queuePackets ?? 1000)) {
      this.counters.queueDrops++;
      return [];
    }
    const depart = Math.max(now, this.nextFree) + (bytes.byteLength * 1000) / s.rateBytesPerSec;
    this.nextFree = depart;
    this.departures.push(depart);
    let at = depart;
    if (s.reorder && this.random() < s.reorder) this.counters.reordered++;
    else at += s.delayMs + (s.jitterMs ? this.random() * s.jitterMs : 0);
    if (s.late && this.random() < s.late) at += s.delayMs * 0.5 + 1;
    const arrivals = [{ at, bytes }];
    if (s.duplicate && this.random() < s.duplicate) {
      this.counters.duplicated++;
      arrivals.push({ at: at + this.random() * 2, bytes });
    }
    this.counters.delivered += arrivals.length;
    return arrivals;
  }
}
