/**
 * Position-dependent test bytes: byte i of stream `seed` is TABLE[(i + seed * SHIFT) % PERIOD].
 * A dropped, repeated or reordered chunk shows up as a mismatch, and checking 32 MiB is a memcmp
 * per chunk instead of storing what was sent.
 */
import { Buffer } from "node:buffer";
import type { StreamConnection } from "../../plugin/api.ts";
import { CaseFailure, expect } from "./harness.ts";

/** Prime, so no chunk size of a sane writer lines up with it. */
const PERIOD = 1_000_003;
const SHIFT = 7919;
const TABLE = new Uint8Array(PERIOD * 2);
for (let i = 0, x = 0x9e3779b9; i < PERIOD; i++) {
  // xorshift32: cheap, deterministic, no visible structure at byte level.
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  TABLE[i] = x & 0xff;
}
TABLE.copyWithin(PERIOD, 0, PERIOD); // Doubled, so any window up to PERIOD is one subarray.

/** The expected bytes at [offset, offset + length) of stream `seed` (length <= PERIOD). */
export function expected(seed: number, offset: number, length: number): Uint8Array {
  const start = (offset + seed * SHIFT) % PERIOD;
  return TABLE.subarray(start, start + length);
}

/**
 * Write `total` bytes in chunks of `chunkSize(i)`, awaiting each write and reusing ONE buffer, as the
 * core does: a transport that keeps the chunk after write() resolves without copying is caught.
 */
export async function writePattern(
  conn: StreamConnection,
  seed: number,
  total: number,
  chunkSize: (i: number) => number = () => 65536,
): Promise<void> {
  const buffer = new Uint8Array(65536 * 4);
  for (let offset = 0, i = 0; offset < total; i++) {
    const n = Math.min(total - offset, chunkSize(i), buffer.byteLength);
    buffer.set(expected(seed, offset, n));
    await conn.write(buffer.subarray(0, n));
    buffer.fill(0xee, 0, n);
    offset += n;
  }
}

/** Read to the end, checking every byte; resolves with the count. */
export async function readPattern(readable: AsyncIterable<Uint8Array>, seed: number, max: number): Promise<number> {
  let offset = 0;
  for await (const chunk of readable) {
    checkChunk(chunk, seed, offset, max);
    offset += chunk.byteLength;
  }
  return offset;
}

export function checkChunk(chunk: Uint8Array, seed: number, offset: number, max: number): void {
  expect(chunk instanceof Uint8Array, `readable yielded ${typeof chunk}, not a Uint8Array`);
  if (offset + chunk.byteLength > max)
    throw new CaseFailure(`received ${offset + chunk.byteLength} bytes, more than the ${max} sent`);
  for (let at = 0; at < chunk.byteLength; at += PERIOD) {
    const part = chunk.subarray(at, Math.min(chunk.byteLength, at + PERIOD));
    if (Buffer.compare(part, expected(seed, offset + at, part.byteLength)) !== 0)
      throw new CaseFailure(
        `bytes ${offset + at}..${offset + at + part.byteLength} differ from what was sent (lost, reordered, duplicated or altered)`,
      );
  }
}

export const KiB = 1024;
export const MiB = 1024 * KiB;
