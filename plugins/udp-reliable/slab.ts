/**
 * Datagram buffers carved from 1 MiB slabs: one allocation per slab instead of one per packet.
 *
 * A connection's datagrams are needed only until the socket has taken them: a retransmission is
 * built again from the send stream, never from an old datagram. Where the socket copies on send
 * (Bun's sendmmsg), the driver calls recycle() after a send that took everything, and the same
 * slabs serve the next batch: the sender's datagram memory is then the largest batch one step
 * sent, not the send rate times the GC's delay (Bun frees dead ArrayBuffers late, and its allocator
 * keeps the pages). Without recycle() (an asynchronous socket, the simulator holding datagrams on a
 * link) every slab is fresh and reclaimed by the GC once every datagram cut from it is gone.
 *
 * Reused bytes are not zeroed: a packet that pads writes its zeroes (the MTU probe does).
 */
const SLAB_BYTES = 1 << 20;

export class DatagramArena {
  /** Since the last recycle(): slabs[0..current] in use, the ones after spare. */
  private readonly slabs: ArrayBuffer[] = [];
  private current = -1;
  private at = 0;
  /** Set by the first recycle(): until then a full slab is dropped for the GC, not kept. */
  private reusing = false;

  constructor(private readonly slabBytes = SLAB_BYTES) {}

  /** Bytes of slab memory this arena holds. */
  get capacity(): number {
    let n = 0;
    for (const s of this.slabs) n += s.byteLength;
    return n;
  }

  allocate(size: number): Uint8Array {
    let slab = this.slabs[this.current];
    if (!slab || this.at + size > slab.byteLength) {
      if (this.reusing) this.current++;
      else this.current = 0;
      slab = this.slabs[this.current];
      if (!this.reusing || !slab || slab.byteLength < size) {
        slab = new ArrayBuffer(Math.max(this.slabBytes, size));
        this.slabs[this.current] = slab;
      }
      this.at = 0;
    }
    const out = new Uint8Array(slab, this.at, size);
    this.at += size;
    return out;
  }

  /** Returns the unused tail of the most recent allocation, so small packets do not waste a slot. */
  shrinkLast(buffer: Uint8Array, used: number): Uint8Array {
    const slab = this.slabs[this.current];
    if (buffer.buffer === slab && buffer.byteOffset + buffer.byteLength === this.at)
      this.at -= buffer.byteLength - used;
    return buffer.subarray(0, used);
  }

  /**
   * Every datagram allocated so far is dead to its holders (the socket copied them): later
   * allocations overwrite them, and the slabs are kept for that from now on.
   */
  recycle(): void {
    this.reusing = true;
    this.current = this.slabs.length ? 0 : -1;
    this.at = 0;
  }
}
