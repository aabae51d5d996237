/**
 * CPace (draft-irtf-cfrg-cpace), cipher suite CPACE-RISTR255-SHA512, initiator-responder setting.
 * Only composes library operations: the group math and hashing come from @noble.
 */
import { ristretto255, ristretto255_hasher } from "@noble/curves/ed25519.js";
import { bytesToNumberLE } from "@noble/curves/utils.js";
import { sha512 } from "@noble/hashes/sha2.js";

const Point = ristretto255.Point;
const ORDER = Point.Fn.ORDER;
const encoder = new TextEncoder();

const DSI = encoder.encode("CPaceRistretto255");
const DSI_ISK = encoder.encode("CPaceRistretto255_ISK");
/** SHA-512's input block size: the padding puts DSI and PRS alone in the first block. */
const S_IN_BYTES = 128;
const ELEMENT_BYTES = 32;
/** 64 bytes reduced mod the ~2^252 order leave a bias far below 2^-128. */
const SCALAR_SOURCE_BYTES = 64;

export interface CpaceShare {
  readonly scalar: bigint;
  readonly element: Uint8Array /* 32 bytes */;
}

export class CpaceError extends Error {
  override name = "CpaceError";
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** LEB128 length, then the data: makes every concatenation below unambiguous. */
export function prependLen(data: Uint8Array): Uint8Array {
  const len: number[] = [];
  let n = data.length;
  do {
    const low = n & 0x7f;
    n = Math.floor(n / 128);
    len.push(n > 0 ? low | 0x80 : low);
  } while (n > 0);
  return concat(Uint8Array.from(len), data);
}

export function lvCat(...parts: Uint8Array[]): Uint8Array {
  return concat(...parts.map(prependLen));
}

export function generatorString(
  dsi: Uint8Array,
  prs: Uint8Array,
  ci: Uint8Array,
  sid: Uint8Array,
  sInBytes: number,
): Uint8Array {
  const zpad = Math.max(0, sInBytes - 1 - prependLen(prs).length - prependLen(dsi).length);
  return lvCat(dsi, prs, new Uint8Array(zpad), ci, sid);
}

// RFC 9496 element derivation (64 uniform bytes to an element); typed optional as not every group has one.
function calculateGenerator(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array) {
  const hash = sha512(generatorString(DSI, prs, ci, sid, S_IN_BYTES));
  if (ristretto255_hasher.deriveToCurve === undefined)
    throw new Error("@noble/curves lacks ristretto255 element derivation");
  return ristretto255_hasher.deriveToCurve(hash);
}

function defaultRandom(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

function sampleScalar(random: (n: number) => Uint8Array): bigint {
  // Zero would make the share the identity, which the peer rejects; redraw (probability ~2^-252).
  for (;;) {
    const bytes = random(SCALAR_SOURCE_BYTES);
    if (bytes.length !== SCALAR_SOURCE_BYTES) throw new CpaceError(`random source gave ${bytes.length} bytes, not 64`);
    const scalar = bytesToNumberLE(bytes) % ORDER;
    if (scalar !== 0n) return scalar;
  }
}

/** One side's secret scalar and the public element Y = y·g it sends. */
export function cpaceShare(
  prs: Uint8Array,
  ci: Uint8Array,
  sid: Uint8Array,
  random: (n: number) => Uint8Array = defaultRandom,
): CpaceShare {
  const scalar = sampleScalar(random);
  return { scalar, element: calculateGenerator(prs, ci, sid).multiply(scalar).toBytes() };
}

/**
 * The draft's scalar_mult_vfy, except that it throws where the draft returns the identity: every
 * caller must abort on the identity anyway, and a throw cannot be forgotten.
 */
export function scalarMultVfy(scalar: bigint, encoded: Uint8Array): Uint8Array {
  if (encoded.length !== ELEMENT_BYTES) {
    throw new CpaceError(`peer element is ${encoded.length} bytes, expected ${ELEMENT_BYTES}`);
  }
  let point: InstanceType<typeof Point>;
  try {
    point = Point.fromBytes(encoded);
  } catch {
    throw new CpaceError("peer element is not a valid ristretto255 encoding");
  }
  if (point.is0()) throw new CpaceError("peer element is the identity");
  const k = point.multiply(scalar);
  if (k.is0()) throw new CpaceError("shared point is the identity");
  return k.toBytes();
}

/** Derives the 64-byte ISK. `initiator` says whether `own` is Ya (true) or Yb. */
export function cpaceIsk(
  own: CpaceShare,
  ownAd: Uint8Array,
  peerElement: Uint8Array,
  peerAd: Uint8Array,
  initiator: boolean,
  sid: Uint8Array,
): Uint8Array {
  const k = scalarMultVfy(own.scalar, peerElement);
  const mine = lvCat(own.element, ownAd);
  const theirs = lvCat(peerElement, peerAd);
  const transcript = initiator ? concat(mine, theirs) : concat(theirs, mine);
  return sha512(concat(lvCat(DSI_ISK, sid, k), transcript));
}
