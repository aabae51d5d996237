/**
 * The TCP preamble (docs/PROTOCOL.md §6): a dialer's first bytes name the transport that should get
 * the connection, so every TCP transport of a process can listen on one port. Pure: no sockets here.
 */

/** 'X', 'T': no session starts with them (a session's first byte is a frame type, 1 to 3). */
export const PREAMBLE_MAGIC = [0x58, 0x54] as const;
export const PREAMBLE_VERSION = 1;
/** Same rule as transport names, so a transport can claim its own name. */
export const TAG_PATTERN = /^[a-z][a-z0-9-]{0,39}$/;
export const MAX_TAG_BYTES = 40;
/** magic (2) + version (1) + length (1) + tag: the most a listener reads before it routes. */
export const MAX_PREAMBLE_BYTES = 4 + MAX_TAG_BYTES;
/** How long a listener waits for the whole preamble; honest dialers send it with the handshake. */
export const PREAMBLE_TIMEOUT_MS = 5000;

export function checkTag(tag: string): void {
  if (!TAG_PATTERN.test(tag))
    throw new TypeError(`TCP tag '${tag}': lowercase letters, digits and '-', starting with a letter, at most 40`);
}

export function encodePreamble(tag: string): Uint8Array {
  checkTag(tag);
  const out = new Uint8Array(4 + tag.length);
  out.set([...PREAMBLE_MAGIC, PREAMBLE_VERSION, tag.length]);
  for (let i = 0; i < tag.length; i++) out[4 + i] = tag.charCodeAt(i);
  return out;
}

/**
 * The outcome of the bytes a listener has so far. "untagged": the first byte is not the magic (an
 * older sender, or a peer that speaks the session directly): every byte belongs to the connection.
 */
export type PreambleResult =
  | { kind: "more" }
  | { kind: "tagged"; tag: string; rest: Uint8Array }
  | { kind: "untagged"; rest: Uint8Array }
  | { kind: "bad"; reason: string };

/** Collects a connection's first bytes until they route it; never holds more than MAX_PREAMBLE_BYTES. */
export class PreambleReader {
  private readonly head = new Uint8Array(MAX_PREAMBLE_BYTES);
  private have = 0;

  feed(chunk: Uint8Array): PreambleResult {
    if (this.have === 0 && chunk.byteLength > 0 && chunk[0] !== PREAMBLE_MAGIC[0])
      return { kind: "untagged", rest: chunk };
    const take = Math.min(chunk.byteLength, MAX_PREAMBLE_BYTES - this.have);
    this.head.set(chunk.subarray(0, take), this.have);
    this.have += take;
    const r = parsePreamble(this.head.subarray(0, this.have));
    if (r.kind !== "complete") return r;
    // What came after the preamble in this chunk is the connection's first data.
    return { kind: "tagged", tag: r.tag, rest: chunk.subarray(take - (this.have - r.length)) };
  }
}

/** The preamble at the start of `bytes`, or what is wrong with it. */
export function parsePreamble(
  bytes: Uint8Array,
): { kind: "more" } | { kind: "complete"; tag: string; length: number } | { kind: "bad"; reason: string } {
  if (bytes.byteLength === 0) return { kind: "more" };
  if (bytes[0] !== PREAMBLE_MAGIC[0]) return { kind: "bad", reason: "not a preamble" };
  if (bytes.byteLength < 2) return { kind: "more" };
  if (bytes[1] !== PREAMBLE_MAGIC[1]) return { kind: "bad", reason: "not a preamble" };
  if (bytes.byteLength < 4) return { kind: "more" };
  if (bytes[2] !== PREAMBLE_VERSION) return { kind: "bad", reason: `preamble version ${bytes[2]} (this side: 1)` };
  const n = bytes[3]!;
  if (n === 0 || n > MAX_TAG_BYTES) return { kind: "bad", reason: `tag length ${n}` };
  if (bytes.byteLength < 4 + n) return { kind: "more" };
  const tag = String.fromCharCode(...bytes.subarray(4, 4 + n));
  if (!TAG_PATTERN.test(tag)) return { kind: "bad", reason: "tag is not a transport name" };
  return { kind: "complete", tag, length: 4 + n };
}
