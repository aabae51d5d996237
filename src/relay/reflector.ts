/**
 * Which UDP reflection requests the relay answers (docs/PROTOCOL.md §4.2), pure with an injected
 * clock: only a token the relay gave a room member that is still there, only from that member's own
 * host (so the answer goes nowhere the member is not), a few times per token, and a bounded rate per
 * source address. Anything else gets no answer at all.
 */
import { randomBytes } from "node:crypto";
import { decodeReflectRequest, encodeReflectReply, REFLECT_TOKEN_BYTES } from "../core/rendezvous/reflect-wire.ts";

/** Answers one token gets in its member's life: a punching client asks a handful of times. */
export const REFLECTIONS_PER_TOKEN = 16;
/** Requests answered per source address and second, whatever the tokens. */
export const REFLECTIONS_PER_ADDRESS_SECOND = 20;
/** Source addresses tracked for the rate at once; past it the oldest second's tally is dropped. */
const MAX_TRACKED = 4096;

interface Issued {
  host: string;
  answered: number;
}

export class Reflector {
  private readonly tokens = new Map<string, Issued>();
  private window = 0;
  private readonly perHost = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  /** A token for a member whose TCP connection comes from `host`; valid until revoke(). */
  issue(host: string): string {
    const token = randomBytes(REFLECT_TOKEN_BYTES).toString("hex");
    this.tokens.set(token, { host, answered: 0 });
    return token;
  }

  revoke(token: string): void {
    this.tokens.delete(token);
  }

  /** The reply to send back to `from`, or null to stay silent. */
  answer(datagram: Uint8Array, from: { address: string; port: number }): Uint8Array | null {
    const second = Math.floor(this.now() / 1000);
    if (second !== this.window || this.perHost.size > MAX_TRACKED) {
      this.window = second;
      this.perHost.clear();
    }
    const seen = (this.perHost.get(from.address) ?? 0) + 1;
    this.perHost.set(from.address, seen);
    if (seen > REFLECTIONS_PER_ADDRESS_SECOND) return null;
    const token = decodeReflectRequest(datagram);
    if (!token) return null;
    const issued = this.tokens.get(Buffer.from(token).toString("hex"));
    if (!issued || issued.host !== from.address || issued.answered >= REFLECTIONS_PER_TOKEN) return null;
    issued.answered++;
    return encodeReflectReply(token, from.address, from.port);
  }
}
