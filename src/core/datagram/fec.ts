/**
 * Forward error correction by interleaved XOR parity (`--fec k:m`): data datagrams are grouped in
 * blocks of k·m consecutive sequence numbers; parity j of a block is the XOR of the k datagrams
 * whose position in the block is ≡ j (mod m). Any class that lost exactly one datagram is rebuilt
 * from the others and its parity, so a block survives up to m losses when they fall in different
 * classes — m consecutive losses (a burst) always do. No retransmission, m/k extra bandwidth.
 *
 * What is XORed is the datagram's placement and payload: file (u32), offset (u48), length (u16),
 * payload zero-padded to the chunk size. Pure: no I/O.
 */

export interface FecParams {
  k: number;
  m: number;
}

export const PLACEMENT_BYTES = 4 + 6 + 2;

export function parseFec(text: string): FecParams {
  const m = /^(\d+):(\d+)$/.exec(text);
  const k = Number(m?.[1]);
  const parity = Number(m?.[2]);
  if (!m || k < 1 || k > 64 || parity < 1 || parity > 16)
    throw new Error(`--fec takes k:m (1 ≤ k ≤ 64 data per parity, 1 ≤ m ≤ 16 parities per block), not '${text}'`);
  return { k, m: parity };
}

/** placement ‖ payload, padded to a fixed size, for XOR. */
export function encodeUnit(file: number, offset: number, payload: Uint8Array, size: number): Uint8Array {
  const unit = new Uint8Array(size);
  const v = new DataView(unit.buffer);
  v.setUint32(0, file);
  v.setUint16(4, Math.floor(offset / 2 ** 32));
  v.setUint32(6, offset >>> 0);
  v.setUint16(10, payload.byteLength);
  unit.set(payload, PLACEMENT_BYTES);
  return unit;
}

export function decodeUnit(unit: Uint8Array): { file: number; offset: number; payload: Uint8Array } | null {
  const v = new DataView(unit.buffer, unit.byteOffset, unit.byteLength);
  const length = v.getUint16(10);
  if (PLACEMENT_BYTES + length > unit.byteLength) return null;
  return {
    file: v.getUint32(0),
    offset: v.getUint16(4) * 2 ** 32 + v.getUint32(6),
    payload: unit.subarray(PLACEMENT_BYTES, PLACEMENT_BYTES + length),
  };
}

export function xorInto(acc: Uint8Array, unit: Uint8Array): void {
  for (let i = 0; i < unit.byteLength; i++) acc[i] = (acc[i] as number) ^ (unit[i] as number);
}

/** Sender side: feed data units in sequence order; returns parities when a block completes. */
export class FecEncoder {
  private readonly acc: Uint8Array[];
  private inBlock = 0;
  private block = 0;

  constructor(
    private readonly p: FecParams,
    private readonly unitSize: number,
  ) {
    this.acc = Array.from({ length: p.m }, () => new Uint8Array(unitSize));
  }

  /** Returns [block, class, parity unit] triples ready to send (after the block's last datagram). */
  add(unit: Uint8Array): [number, number, Uint8Array][] {
    xorInto(this.acc[this.inBlock % this.p.m] as Uint8Array, unit);
    if (++this.inBlock < this.p.k * this.p.m) return [];
    return this.flush();
  }

  /** Parities of a partly filled last block (members past the end count as zero). */
  flush(): [number, number, Uint8Array][] {
    if (this.inBlock === 0) return [];
    const out: [number, number, Uint8Array][] = [];
    for (let j = 0; j < Math.min(this.p.m, this.inBlock); j++) {
      out.push([this.block, j, this.acc[j] as Uint8Array]);
      this.acc[j] = new Uint8Array(this.unitSize);
    }
    this.block++;
    this.inBlock = 0;
    return out;
  }
}

/**
 * Receiver side: remembers the units of recent blocks and their parities; `recover` rebuilds the
 * single missing member of any class it can. Blocks older than `window` are forgotten (after a
 * last attempt), so memory stays at window × k·m units.
 */
export class FecDecoder {
  private readonly blocks = new Map<number, { units: Map<number, Uint8Array>; parity: Map<number, Uint8Array> }>();
  recovered = 0;

  constructor(
    private readonly p: FecParams,
    private readonly window = 8,
  ) {}

  private blockOf(b: number) {
    let entry = this.blocks.get(b);
    if (!entry) {
      entry = { units: new Map(), parity: new Map() };
      this.blocks.set(b, entry);
    }
    return entry;
  }

  /** A received data unit; returns units recovered because of evicting old blocks. */
  addData(seq: number, unit: Uint8Array, total: number | null): { seq: number; unit: Uint8Array }[] {
    const b = Math.floor(seq / (this.p.k * this.p.m));
    this.blockOf(b).units.set(seq, unit);
    return this.evictBefore(b - this.window, total);
  }

  addParity(block: number, cls: number, unit: Uint8Array, total: number | null): { seq: number; unit: Uint8Array }[] {
    this.blockOf(block).parity.set(cls, unit);
    return this.recoverBlock(block, total);
  }

  /** Try every remembered block (at the end, when `total` is known). */
  recoverAll(total: number): { seq: number; unit: Uint8Array }[] {
    const out: { seq: number; unit: Uint8Array }[] = [];
    for (const b of [...this.blocks.keys()]) out.push(...this.recoverBlock(b, total));
    return out;
  }

  private evictBefore(oldest: number, total: number | null): { seq: number; unit: Uint8Array }[] {
    const out: { seq: number; unit: Uint8Array }[] = [];
    for (const b of [...this.blocks.keys()]) {
      if (b >= oldest) continue;
      out.push(...this.recoverBlock(b, total));
      this.blocks.delete(b);
    }
    return out;
  }

  private recoverBlock(b: number, total: number | null): { seq: number; unit: Uint8Array }[] {
    const entry = this.blocks.get(b);
    if (!entry) return [];
    const out: { seq: number; unit: Uint8Array }[] = [];
    const size = this.p.k * this.p.m;
    for (const [cls, parity] of entry.parity) {
      const members: number[] = [];
      for (let i = cls; i < size; i += this.p.m) members.push(b * size + i);
      // Members past the session's end do not exist (they were zero in the parity).
      const real = total === null ? members : members.filter((s) => s < total);
      const missing = real.filter((s) => !entry.units.has(s));
      // Without the total, a member past the end looks missing: only the last block can be short.
      if (missing.length !== 1) continue;
      const rebuilt = parity.slice();
      for (const s of real) if (s !== missing[0]) xorInto(rebuilt, entry.units.get(s) as Uint8Array);
      entry.units.set(missing[0] as number, rebuilt);
      this.recovered++;
      out.push({ seq: missing[0] as number, unit: rebuilt });
    }
    return out;
  }
}
