/**
 * Buffers freed the moment their last reader is done with them, instead of whenever the garbage
 * collector gets to them. Bun frees a dead ArrayBuffer lazily: a sealed gigabyte left ~1 GiB of
 * record buffers either side for the collector, and the pages it then gave back faulted in again
 * for the next ones (docs/BENCHMARKS.md, "Sealed records freed as they are used").
 *
 * The producer of a fresh buffer that nothing else references marks it with handOver(); whoever
 * holds it last calls release() when it is done, which detaches the buffer (ArrayBuffer.prototype
 * .transfer(0)) so its memory goes back to the allocator at once. release() frees only a buffer
 * handed over and only through a view of all of it: a reader that kept part of a chunk (a subarray)
 * for later can never have that part freed under it by someone releasing another view.
 */

type Transferable = ArrayBuffer & { transfer?: (length: number) => ArrayBuffer };

/** Each handed-over buffer and the length of the view it was handed over as. */
const handedOver = new WeakMap<ArrayBufferLike, number>();
/** Below this, freeing early saves nothing worth a map entry (and small buffers may share a pool). */
const WORTH_RELEASING_BYTES = 4096;
/**
 * A view must cover its buffer but for this much (node:crypto's outputs carry one spare byte): a
 * buffer with room for another view beside this one may be shared, and is never handed over.
 */
const MAX_SLACK_BYTES = 64;
const canDetach = typeof (ArrayBuffer.prototype as Transferable).transfer === "function";

/** Say that `view` is the only reference to its buffer: its last holder may release() it. */
export function handOver<T extends Uint8Array>(view: T): T {
  if (
    canDetach &&
    view.byteOffset === 0 &&
    view.byteLength >= WORTH_RELEASING_BYTES &&
    view.buffer.byteLength - view.byteLength <= MAX_SLACK_BYTES
  )
    handedOver.set(view.buffer, view.byteLength);
  return view;
}

/**
 * Free `view`'s buffer now if it was handed over as this very view; true if freed. After that every
 * view of it reads as empty, so call this only where nothing can still read it.
 */
export function release(view: Uint8Array): boolean {
  const buffer = view.buffer;
  if (view.byteOffset !== 0 || handedOver.get(buffer) !== view.byteLength) return false;
  handedOver.delete(buffer);
  (buffer as Transferable).transfer?.(0);
  return true;
}
