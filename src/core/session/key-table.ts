/**
 * Path keys (52-bit numbers, path-locks.ts) to the id of the session holding each: open addressing
 * in two typed arrays, 12 B a slot, at most half full. A session holds a key for every path it was
 * offered until it ends: 10^6 of them for a 10^6-file tree, which a Map kept as heap cells.
 */
export class KeyTable {
  private keys: Float64Array;
  /** 0: an empty slot. */
  private ids: Uint32Array;
  private used = 0;

  /** `slots`: a power of two (tests start small so that keys collide and the table grows). */
  constructor(slots = 1 << 10) {
    this.keys = new Float64Array(slots);
    this.ids = new Uint32Array(slots);
  }

  /** The id holding `key`, 0 if none. */
  get(key: number): number {
    for (let s = this.slot(key); ; s = (s + 1) & (this.ids.length - 1)) {
      if (this.ids[s] === 0) return 0;
      if (this.keys[s] === key) return this.ids[s]!;
    }
  }

  /** `id` ≥ 1 now holds `key`. */
  set(key: number, id: number): void {
    if ((this.used + 1) * 2 > this.ids.length) this.rebuild(this.ids.length * 2, 0);
    let s = this.slot(key);
    for (; this.ids[s] !== 0; s = (s + 1) & (this.ids.length - 1))
      if (this.keys[s] === key) {
        this.ids[s] = id;
        return;
      }
    this.keys[s] = key;
    this.ids[s] = id;
    this.used++;
  }

  delete(key: number): void {
    const mask = this.ids.length - 1;
    let s = this.slot(key);
    for (; this.ids[s] !== 0; s = (s + 1) & mask) if (this.keys[s] === key) break;
    if (this.ids[s] === 0) return;
    // Backward shift (linear probing without tombstones): pull later keys of the run into the gap
    // when their own slot is not between the gap and where they are.
    for (let gap = s, next = (s + 1) & mask; ; next = (next + 1) & mask) {
      if (this.ids[next] === 0) {
        this.ids[gap] = 0;
        break;
      }
      const home = this.slot(this.keys[next]!);
      if (((next - home) & mask) >= ((next - gap) & mask)) {
        this.keys[gap] = this.keys[next]!;
        this.ids[gap] = this.ids[next]!;
        gap = next;
      }
    }
    this.used--;
  }

  /** Every key `id` holds, released (a session's end: one pass). */
  deleteAll(id: number): void {
    this.rebuild(this.ids.length, id);
  }

  get size(): number {
    return this.used;
  }

  private slot(key: number): number {
    return (Math.imul((key >>> 0) ^ Math.floor(key / 2 ** 32), 0x9e3779b1) >>> 0) & (this.ids.length - 1);
  }

  /** The table at `slots` slots, without the keys `drop` holds (0: keep all). */
  private rebuild(slots: number, drop: number): void {
    const { keys, ids } = this;
    this.keys = new Float64Array(slots);
    this.ids = new Uint32Array(slots);
    this.used = 0;
    for (let s = 0; s < ids.length; s++) if (ids[s] !== 0 && ids[s] !== drop) this.set(keys[s]!, ids[s]!);
  }
}
