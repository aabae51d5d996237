/**
 * Which room two peers meet in at a relay. Only the code's leading number names it: the relay, and
 * anyone watching the way to it, learn those few bits and nothing of the words, which stay the PAKE's
 * secret (croc's GHSA-hp56 named rooms from the secret part).
 */
import { XferError } from "../errors.ts";

/** `code` is normalised ("417-apple-river-stone-tiger"); the room is "417". */
export function roomOf(code: string): string {
  const m = /^([0-9]{1,9})-./u.exec(code);
  if (!m)
    throw new XferError(
      "usage",
      "to meet through a relay or on the local network the code must start with a number and a dash (all that is shown to others), like 7-apple-river-stone-tiger: let xfer make one, or add a number in front",
    );
  // "007" and "7" are one number to a person reading the code aloud: one room.
  return String(Number(m[1]));
}

/** The room of a code that has a leading number; null for one that has none. */
export function roomIfAny(code: string): string | null {
  return /^[0-9]{1,9}-./u.test(code) ? roomOf(code) : null;
}
