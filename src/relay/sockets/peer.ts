/** What the relay needs of a TCP connection, whichever runtime's sockets carry it. */
export interface PeerSocket {
  /** The peer's host as seen here ("203.0.113.5"; an IPv4-mapped IPv6 address as IPv4). */
  readonly host: string;
  readonly port: number;
  /** Send; false when the kernel did not take it all (the rest is queued, and `drain` follows). */
  write(chunk: Uint8Array): boolean;
  /** Half-close once everything queued is out. */
  end(): void;
  destroy(): void;
  pause(): void;
  resume(): void;
  /** Set by the relay; replaced when the peer is paired. */
  handlers: PeerHandlers;
}

export interface PeerHandlers {
  data(chunk: Uint8Array): void;
  /** The peer half-closed. */
  end(): void;
  /** The connection is gone; `failed` when it ended in an error rather than an orderly close. */
  close(failed: boolean): void;
  drain(): void;
}

export interface PeerListener {
  readonly port: number;
  close(): Promise<void>;
}

export const NO_HANDLERS: PeerHandlers = { data() {}, end() {}, close() {}, drain() {} };

/** "::ffff:192.0.2.1" is 192.0.2.1: one host, whichever family the socket reports it in. */
export function plainHost(address: string | undefined): string {
  const a = address ?? "?";
  return a.startsWith("::ffff:") ? a.slice(7) : a;
}
