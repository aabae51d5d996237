/**
 * One accepted connection until its preamble names who gets it: bounded in bytes (PreambleReader),
 * in time (a deadline) and in number (MAX_ROUTING per listener), so a peer that sends nothing, too
 * little or garbage costs a socket for a few seconds and never reaches a transport.
 */
import type { Endpoint, StreamConnection } from "../api.ts";
import { PreambleReader } from "./preamble.ts";

/** A listening socket, whichever runtime adapter made it. */
export interface TcpServer {
  readonly address: Endpoint;
  /** Stop accepting; accepted connections stay open. */
  close(): void;
}

export type OnConnection = (conn: StreamConnection) => void;

/** Connections still owing their preamble, per listener; beyond it new ones are closed at once. */
export const MAX_ROUTING = 64;

/** What a listening socket asks its owner (the shared registry) about each connection. */
export interface Routing {
  /** Who takes connections with this tag (null: untagged); undefined closes the connection. */
  claimFor(tag: string | null): OnConnection | undefined;
  readonly timeoutMs: number;
  /** Connections routing now (kept by PendingRoute). */
  routing: number;
  /** Connections closed before reaching a transport, and the last reason: for tests and debugging. */
  rejected: number;
  lastRejection: string;
}

export class PendingRoute {
  private readonly reader = new PreambleReader();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private open = true;

  /**
   * `kill` resets the socket; `settle` hands it over with the bytes that followed the preamble.
   * May kill at once (too many connections routing).
   */
  constructor(
    private readonly routing: Routing,
    private readonly kill: () => void,
    private readonly settle: (claim: OnConnection, rest: Uint8Array) => void,
  ) {
    if (routing.routing >= MAX_ROUTING) {
      this.open = false;
      this.reject(`more than ${MAX_ROUTING} connections owe their preamble`);
      return;
    }
    routing.routing++;
    this.timer = setTimeout(() => this.reject(`no preamble within ${routing.timeoutMs} ms`), routing.timeoutMs);
    // The socket keeps the process alive while it matters; the deadline alone must not delay an exit.
    this.timer.unref?.();
  }

  feed(chunk: Uint8Array): void {
    if (!this.open) return;
    const r = this.reader.feed(chunk);
    if (r.kind === "more") return;
    if (r.kind === "bad") {
      this.reject(r.reason);
      return;
    }
    const tag = r.kind === "tagged" ? r.tag : null;
    const claim = this.routing.claimFor(tag);
    if (!claim) {
      this.reject(tag === null ? "no preamble, and nothing takes untagged connections" : `no claim for '${tag}'`);
      return;
    }
    this.finish();
    this.settle(claim, r.rest);
  }

  /** The peer half-closed before its preamble was complete: nobody will ever own this socket. */
  peerEnded(): void {
    if (this.open) this.reject("the peer ended before its preamble");
  }

  /** The socket failed or closed before its preamble was complete. */
  abandon(): void {
    this.finish();
  }

  private finish(): void {
    if (!this.open) return;
    this.open = false;
    clearTimeout(this.timer);
    this.routing.routing--;
  }

  private reject(reason: string): void {
    this.finish();
    this.routing.rejected++;
    this.routing.lastRejection = reason;
    this.kill();
  }
}
