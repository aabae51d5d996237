/**
 * The relay's UDP reflection (docs/PROTOCOL.md §4.2): a room member asks, from the UDP socket it will
 * punch with, which address the relay saw that socket as (its public UDP mapping behind a NAT). Pure.
 * A request is padded to a fixed size and every reply is smaller, so the relay amplifies nothing.
 */
import { isIP } from "node:net";

/** 'X' 'R': no udp-reliable (0x55), udp-raw (0x52) or punch probe starts so. */
export const REFLECT_MAGIC = [0x58, 0x52] as const;
export const REFLECT_VERSION = 1;
const REQUEST = 1;
const REPLY = 2;
/** The token the relay gave this member at join, as bytes. */
export const REFLECT_TOKEN_BYTES = 16;
/** Every request is exactly this long; the largest reply (IPv6) is 42 bytes. */
export const REFLECT_REQUEST_BYTES = 64;
const HEADER = 4;

export function isReflect(datagram: Uint8Array): boolean {
  return datagram.byteLength >= HEADER && datagram[0] === REFLECT_MAGIC[0] && datagram[1] === REFLECT_MAGIC[1];
}

export function encodeReflectRequest(token: Uint8Array): Uint8Array {
  if (token.byteLength !== REFLECT_TOKEN_BYTES) throw new Error("a reflection token is 16 bytes");
  const out = new Uint8Array(REFLECT_REQUEST_BYTES);
  out.set([...REFLECT_MAGIC, REFLECT_VERSION, REQUEST]);
  out.set(token, HEADER);
  return out;
}

/** The token of a well-formed request, or null for anything else (which the relay ignores). */
export function decodeReflectRequest(datagram: Uint8Array): Uint8Array | null {
  if (datagram.byteLength !== REFLECT_REQUEST_BYTES || !isReflect(datagram)) return null;
  if (datagram[2] !== REFLECT_VERSION || datagram[3] !== REQUEST) return null;
  return datagram.slice(HEADER, HEADER + REFLECT_TOKEN_BYTES);
}

/** The reply: the request's token (so the asker knows it is its answer), then the address seen. */
export function encodeReflectReply(token: Uint8Array, address: string, port: number): Uint8Array {
  const v4 = isIP(address) === 4;
  const ip = v4 ? address.split(".").map(Number) : ipv6Bytes(address);
  const out = new Uint8Array(HEADER + REFLECT_TOKEN_BYTES + 1 + ip.length + 2);
  out.set([...REFLECT_MAGIC, REFLECT_VERSION, REPLY]);
  out.set(token, HEADER);
  let at = HEADER + REFLECT_TOKEN_BYTES;
  out[at++] = v4 ? 4 : 6;
  out.set(ip, at);
  at += ip.length;
  new DataView(out.buffer).setUint16(at, port);
  return out;
}

/** "203.0.113.5:40122" from a reply carrying `token`, or null (not a reply, not ours, malformed). */
export function decodeReflectReply(datagram: Uint8Array, token: Uint8Array): string | null {
  if (!isReflect(datagram) || datagram[2] !== REFLECT_VERSION || datagram[3] !== REPLY) return null;
  const at = HEADER + REFLECT_TOKEN_BYTES;
  if (datagram.byteLength < at + 1) return null;
  for (let i = 0; i < REFLECT_TOKEN_BYTES; i++) if (datagram[HEADER + i] !== token[i]) return null;
  const family = datagram[at];
  const ipBytes = family === 4 ? 4 : family === 6 ? 16 : 0;
  if (ipBytes === 0 || datagram.byteLength !== at + 1 + ipBytes + 2) return null;
  const ip = datagram.subarray(at + 1, at + 1 + ipBytes);
  const port = new DataView(datagram.buffer, datagram.byteOffset).getUint16(at + 1 + ipBytes);
  if (port === 0) return null;
  if (family === 4) return `${[...ip].join(".")}:${port}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((ip[i]! << 8) | ip[i + 1]!).toString(16));
  return `[${groups.join(":")}]:${port}`;
}

function ipv6Bytes(address: string): number[] {
  const plain = address.replace(/%.*$/, "");
  const [head, tail] = plain.includes("::") ? plain.split("::") : [plain, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return groups.flatMap((g) => {
    const n = Number.parseInt(g || "0", 16);
    return [n >> 8, n & 0xff];
  });
}
