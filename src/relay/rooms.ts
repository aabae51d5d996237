/**
 * The relay's bookkeeping, pure (the clock is injected): who waits in which room, who is paired with
 * whom, and every limit a relay open to the internet needs so that one address, or a flood of rooms,
 * cannot take it over. The server (server.ts) does the sockets and asks this what to do.
 */
import type { RefusalCode, Side } from "../core/rendezvous/wire.ts";

export interface RelayLimits {
  /** Rooms open at once (waiting or piping). */
  maxRooms: number;
  /** Connections one address holds at once (waiting or piping): a flood from one host stops here. */
  maxPerAddress: number;
  /** How long a lone peer waits for the other side before the room expires. */
  waitMs: number;
  /** Bytes a paired room may pipe, both ways together (0: no limit). */
  roomBytes: number;
  /** How long a paired room may pipe (0: no limit). */
  roomMs: number;
}

export const DEFAULT_LIMITS: RelayLimits = {
  maxRooms: 1000,
  maxPerAddress: 16,
  waitMs: 10 * 60_000,
  roomBytes: 0,
  roomMs: 6 * 3600_000,
};

/**
 * What a session adds to the files' bytes on the way (frames, records, tags, hashes): a sender that
 * declared its size is cut only past this margin, never for the session's own overhead.
 */
export function quotaWithSlack(roomBytes: number): number {
  return Math.ceil(roomBytes * 1.02) + 1024 * 1024;
}

export interface JoinRequest {
  room: string;
  side: Side;
  /** The peer's host (no port): the unit of the per-address limit. */
  host: string;
  /** The sender's declared bytes, if it said. */
  bytes?: number;
}

export type JoinOutcome<T> =
  | { kind: "waiting"; expiresInMs: number }
  | { kind: "paired"; peer: T }
  | { kind: "refused"; code: RefusalCode; reason: string };

interface Room<T> {
  name: string;
  /** When the first peer joined, then when the pair formed. */
  since: number;
  peers: Partial<Record<Side, T>>;
  paired: boolean;
  bytes: number;
}

export class RoomBook<T> {
  private readonly rooms = new Map<string, Room<T>>();
  private readonly roomOf = new Map<T, Room<T>>();
  private readonly hostOf = new Map<T, string>();
  private readonly perHost = new Map<string, number>();

  constructor(
    readonly limits: RelayLimits,
    private readonly now: () => number,
  ) {}

  get openRooms(): number {
    return this.rooms.size;
  }

  join(req: JoinRequest, handle: T): JoinOutcome<T> {
    const held = this.perHost.get(req.host) ?? 0;
    if (held >= this.limits.maxPerAddress)
      return refuse("address-limit", `your address holds ${held} connections here already, the most allowed`);
    const { roomBytes } = this.limits;
    if (roomBytes > 0 && req.bytes !== undefined && req.bytes > roomBytes)
      return refuse("quota", `this relay pipes at most ${roomBytes} bytes per transfer; this one is ${req.bytes}`);
    let room = this.rooms.get(req.room);
    if (room && (room.paired || room.peers[req.side] !== undefined))
      return refuse(
        "room-taken",
        `another transfer already waits under number ${req.room}: start again for a new code, or wait a minute`,
      );
    if (!room) {
      if (this.rooms.size >= this.limits.maxRooms)
        return refuse("full", `this relay holds ${this.rooms.size} rooms, its most: try again later`);
      room = { name: req.room, since: this.now(), peers: {}, paired: false, bytes: 0 };
      this.rooms.set(req.room, room);
    }
    room.peers[req.side] = handle;
    this.roomOf.set(handle, room);
    this.hostOf.set(handle, req.host);
    this.perHost.set(req.host, held + 1);
    const other = room.peers[req.side === "send" ? "recv" : "send"];
    if (other === undefined) return { kind: "waiting", expiresInMs: this.limits.waitMs };
    room.paired = true;
    room.since = this.now();
    return { kind: "paired", peer: other };
  }

  /**
   * Count `n` bytes piped through `handle`'s room; false once the room is over its byte quota (with the
   * slack of quotaWithSlack): then the relay cuts both sides.
   */
  charge(handle: T, n: number): boolean {
    const room = this.roomOf.get(handle);
    if (!room) return false;
    room.bytes += n;
    return this.limits.roomBytes === 0 || room.bytes <= quotaWithSlack(this.limits.roomBytes);
  }

  has(handle: T): boolean {
    return this.roomOf.has(handle);
  }

  bytesOf(handle: T): number {
    return this.roomOf.get(handle)?.bytes ?? 0;
  }

  /** `handle`'s connection is gone: its room closes too (a pair is never re-formed). Returns the other peer, if any. */
  leave(handle: T): T | undefined {
    const room = this.roomOf.get(handle);
    if (!room) return undefined;
    const others = Object.values(room.peers).filter((h): h is T => h !== undefined && h !== handle);
    for (const h of [handle, ...others]) this.forget(h);
    this.rooms.delete(room.name);
    return others[0];
  }

  /**
   * Rooms past their time: lone peers that waited `waitMs`, pairs that piped `roomMs`. They are removed;
   * the server tells each handle why and closes it.
   */
  sweep(): { handle: T; code: RefusalCode; reason: string }[] {
    const now = this.now();
    const out: { handle: T; code: RefusalCode; reason: string }[] = [];
    for (const room of [...this.rooms.values()]) {
      const limit = room.paired ? this.limits.roomMs : this.limits.waitMs;
      if (limit === 0 || now - room.since < limit) continue;
      const reason = room.paired
        ? `the transfer ran past this relay's limit of ${Math.round(limit / 1000)} s`
        : `nobody joined within ${Math.round(limit / 1000)} s`;
      for (const handle of Object.values(room.peers))
        if (handle !== undefined) out.push({ handle, code: room.paired ? "quota" : "expired", reason });
      for (const handle of Object.values(room.peers)) if (handle !== undefined) this.forget(handle);
      this.rooms.delete(room.name);
    }
    return out;
  }

  private forget(handle: T): void {
    const host = this.hostOf.get(handle);
    if (host !== undefined) {
      const n = (this.perHost.get(host) ?? 1) - 1;
      if (n > 0) this.perHost.set(host, n);
      else this.perHost.delete(host);
    }
    this.hostOf.delete(handle);
    this.roomOf.delete(handle);
  }
}

function refuse(code: RefusalCode, reason: string): { kind: "refused"; code: RefusalCode; reason: string } {
  return { kind: "refused", code, reason };
}
