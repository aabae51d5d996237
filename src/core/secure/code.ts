/**
 * The one-time code a receiver prints and a sender types, e.g. `7-apple-river-stone-tiger`.
 * The PAKE makes offline guessing useless, so ~54 bits only has to outlast a few online tries.
 */
import { wordlist } from "@scure/bip39/wordlists/english.js";
import { XferError } from "../errors.ts";

const WORDS = 4;
const MAX_NUMBER = 999;
/** The BIP39 list has 2048 words, so 11 random bits pick one without bias. */
const WORD_BITS = 11;
/** Shorter codes are guessable in a handful of tries, whatever the attempt limits. */
const MIN_CODE_LENGTH = 6;

export const GENERATED_CODE_BITS = WORDS * WORD_BITS + Math.log2(MAX_NUMBER);

function defaultRandomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

function random16(randomBytes: (n: number) => Uint8Array): number {
  const b = randomBytes(2);
  if (b.length < 2) throw new XferError("internal", "random source returned too few bytes");
  return ((b[0] ?? 0) << 8) | (b[1] ?? 0);
}

export function generateCode(randomBytes: (n: number) => Uint8Array = defaultRandomBytes): string {
  // 10 bits cover 0..1023; redrawing the top 25 values keeps 1..999 uniform.
  let n: number;
  do n = random16(randomBytes) & 0x3ff;
  while (n >= MAX_NUMBER);
  const words: string[] = [];
  for (let i = 0; i < WORDS; i++) {
    const word = wordlist[random16(randomBytes) & ((1 << WORD_BITS) - 1)];
    if (word === undefined) throw new XferError("internal", "BIP39 word list is not 2048 words");
    words.push(word);
  }
  return [String(n + 1), ...words].join("-");
}

/**
 * Both ends run this, so whatever the typist's case, separators or keyboard width, the same code
 * yields the same PAKE password.
 */
export function normalizeCode(text: string): string {
  // NFKC again after lowercasing: case mapping can undo normalisation, and idempotence matters.
  const folded = text.normalize("NFKC").toLowerCase().normalize("NFKC");
  const code = folded
    .split(/[^\p{L}\p{N}]+/u)
    .filter((part) => part !== "")
    .join("-");
  if (code === "") throw new XferError("usage", "the code is empty: type the code the receiver printed");
  if ([...code].length < MIN_CODE_LENGTH) {
    throw new XferError("usage", `the code is too short to be safe: use at least ${MIN_CODE_LENGTH} characters`);
  }
  return code;
}
