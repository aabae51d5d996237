/**
 * Datagram buffers carved from 1 MiB slabs: one allocation per slab instead of one per packet. A
 * slab is reclaimed by the GC once every datagram cut from it is gone. Buffers start zeroed, which
 * is PADDING in a DATA packet.
 */
const SLAB_BYTES = 1 << 20;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabAt = 0;

export function allocate(size: number): Uint8Array {
  if (slabAt + size > slab.byteLength) {
    slab = new ArrayBuffer(Math.max(SLAB_BYTES, size));
    slabAt = 0;
  }
  const out = new Uint8Array(slab, slabAt, size);
  slabAt += size;
  return out;
}

/** Returns the unused tail of the most recent allocation, so small packets do not waste a slot. */
export function shrinkLast(buffer: Uint8Array, used: number): Uint8Array {
  if (buffer.buffer === slab && buffer.byteOffset + buffer.byteLength === slabAt) slabAt -= buffer.byteLength - used;
  return buffer.subarray(0, used);
}
