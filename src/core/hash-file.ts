import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { newHasher, type StreamingHasher } from "./hashing.ts";

const READ_CHUNK = 1 << 20;

/**
 * Hash the first `length` bytes of a file; returns the live hasher so the caller can continue it.
 * `noFollow`: a link at `path` is an error, not followed (the receiver hashing its own files).
 */
export async function hashFilePrefix(
  path: string,
  length: number,
  opts: { noFollow?: boolean } = {},
): Promise<StreamingHasher> {
  const hasher = await newHasher();
  if (length === 0) return hasher;
  const fh = await open(path, constants.O_RDONLY | (opts.noFollow ? (constants.O_NOFOLLOW ?? 0) : 0));
  try {
    const buf = new Uint8Array(Math.min(READ_CHUNK, length));
    let pos = 0;
    while (pos < length) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.byteLength, length - pos), pos);
      if (bytesRead === 0) throw new Error(`${path} is shorter than ${length} bytes`);
      hasher.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return hasher;
}
