/**
 * The accept message for a page of an offer, written straight into its frame. Built as objects and then
 * JSON, 10^6 accepted files made ~2·10^6 short-lived objects and strings, and with them the
 * receiver's peak memory (docs/BENCHMARKS.md, "Huge offers"). A new file's answer is always
 * `{"index":N,"offset":0,"existing":false}`, so those are written as bytes; the few others (resumes,
 * existing files) go through JSON.stringify. The text is what JSON.stringify of the message gives.
 */
import type { PreparedFiles, Refusal } from "../receive/receive-target.ts";
import { allocControlFrame, FRAME_HEADER_BYTES } from "./frames.ts";

const ascii = (s: string) => new TextEncoder().encode(s);
const FRESH_HEAD = ascii('{"index":');
const FRESH_TAIL = ascii(',"offset":0,"existing":false}');
const ACCEPT_HEAD = ascii('{"type":"accept","first":');
const FILES_HEAD = ascii(',"files":[');

const digits = (n: number) => (n < 10 ? 1 : Math.floor(Math.log10(n)) + 1);

export function encodeAcceptFrame(
  prepared: PreparedFiles,
  refused: readonly (Refusal & { index: number })[],
): Uint8Array {
  const head = new Uint8Array([...ACCEPT_HEAD, ...ascii(String(prepared.first)), ...FILES_HEAD]);
  const tail = new TextEncoder().encode(`],"refused":${JSON.stringify(refused)}}`);
  const others = new Map<number, Uint8Array>();
  let length = head.byteLength + tail.byteLength;
  let count = 0;
  for (let i = prepared.first; i < prepared.end; i++) {
    if (!prepared.has(i)) continue;
    if (count++ > 0) length++;
    if (prepared.isFresh(i)) length += FRESH_HEAD.byteLength + digits(i) + FRESH_TAIL.byteLength;
    else {
      const json = new TextEncoder().encode(JSON.stringify(prepared.get(i)!.accepted));
      others.set(i, json);
      length += json.byteLength;
    }
  }
  const frame = allocControlFrame(length);
  let at = FRAME_HEADER_BYTES;
  const put = (bytes: Uint8Array) => {
    frame.set(bytes, at);
    at += bytes.byteLength;
  };
  put(head);
  let first = true;
  for (let i = prepared.first; i < prepared.end; i++) {
    if (!prepared.has(i)) continue;
    if (!first) frame[at++] = 0x2c; // ,
    first = false;
    const other = others.get(i);
    if (other) {
      put(other);
      continue;
    }
    put(FRESH_HEAD);
    for (let n = i, d = digits(i) - 1; d >= 0; d--, n = Math.floor(n / 10)) frame[at + d] = 0x30 + (n % 10);
    at += digits(i);
    put(FRESH_TAIL);
  }
  put(tail);
  return frame;
}
