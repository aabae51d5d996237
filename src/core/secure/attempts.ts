/**
 * Online guessing is all a PAKE leaves an attacker, so a receiver makes each guess costly: every
 * failed handshake doubles a lockout during which handshakes are refused at once (so a person who
 * mistyped learns how long to wait, instead of watching a hang), and a generated code (one person,
 * one transfer) dies after a few failures. Shared by every session of one receiver, so parallel
 * connections do not multiply the guesses.
 */
import { XferError } from "../errors.ts";

/** Failed handshakes after which a generated code stops being accepted. */
export const MAX_WRONG_GENERATED = 3;
const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 60_000;

export class CodeAttempts {
  private failures = 0;
  private nextAllowedAt = 0;

  constructor(
    /** True for a code this receiver made up (it dies after MAX_WRONG_GENERATED failures). */
    private readonly generated: boolean,
    private readonly now: () => number = Date.now,
  ) {}

  get wrong(): number {
    return this.failures;
  }

  /** True once a generated code has been guessed at too often to be trusted. */
  get burned(): boolean {
    return this.generated && this.failures >= MAX_WRONG_GENERATED;
  }

  /** How long handshakes are still refused (0: the next one is answered). */
  delayMs(): number {
    return Math.max(0, this.nextAllowedAt - this.now());
  }

  /** Throws while the lockout lasts, and for good once a generated code is burned. */
  admit(): void {
    this.throwIfBurned();
    const wait = this.delayMs();
    if (wait > 0)
      throw new XferError(
        "auth",
        `wrong codes were tried here: the receiver accepts the next attempt in ${Math.ceil(wait / 1000)} s`,
      );
  }

  failed(): void {
    this.failures++;
    const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (this.failures - 1));
    this.nextAllowedAt = Math.max(this.nextAllowedAt, this.now()) + delay;
  }

  private throwIfBurned(): void {
    if (this.burned)
      throw new XferError(
        "auth",
        `${this.failures} wrong codes were tried: this code is no longer accepted (start xfer recv again for a new one)`,
      );
  }
}
