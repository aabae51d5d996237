/**
 * The listening side's demultiplexer, pure like the connection: datagrams in (with their source
 * address and the time), replies and connection events out. SYNs get a stateless SYN-ACK; only a
 * valid ECHO allocates a connection; packets for unknown connection IDs get a RESET (rate-limited,
 * and never larger than what triggered it, so it cannot amplify a spoofed flood).
 */
import { randomBytes } from "node:crypto";
import { ACCEPT_DATAGRAM, Connection, type ConnectionConfig, sameBytes } from "./connection.ts";
import { CookieJar } from "./cookie.ts";
import { CLOSE_CODE, writeCloseFrame } from "./wire/frames.ts";
import {
  CID_BYTES,
  encodeReset,
  encodeSynAck,
  encodeVersionNegotiation,
  MIN_DATAGRAM,
  readPacket,
  startData,
  versionOf,
  WIRE_VERSION,
} from "./wire/packet.ts";
import { WireError } from "./wire/varint.ts";

export interface Peer {
  address: string;
  port: number;
}

export interface Routed {
  /** Datagrams to send right away (handshake replies, resets) and where. */
  replies: { to: Peer; bytes: Uint8Array }[];
  /** The connection the datagram went to (poll it), if any. */
  conn?: Connection;
  /** True when `conn` was created by this datagram. */
  created?: boolean;
}

const RESETS_PER_SECOND = 100;
/**
 * How long a cleanly finished connection is remembered (a CID, a packet number and a time): as long
 * as the idle timeout, so a peer whose last ACK was lost in a blackout longer than LINGER still
 * learns that everything arrived instead of getting a RESET.
 */
const TOMBSTONE_MS = 30_000;
const MAX_TOMBSTONES = 4096;

export class ListenerCore {
  private readonly cookies = new CookieJar();
  /** Keyed by the CID's first 48 bits (cheap to compute per datagram); the full CID is then compared. */
  private readonly byCid = new Map<number, { conn: Connection; peer: Peer }>();
  private readonly finished = new Map<
    number,
    { localCid: Uint8Array; remoteCid: Uint8Array; pn: number; until: number }
  >();
  private resetBudget = RESETS_PER_SECOND;
  private resetRefill = 0;
  readonly counters = { malformed: 0, badCookies: 0, resets: 0, refused: 0 };

  constructor(
    /** The settings for a connection from this peer (the datagram size depends on the path). */
    private readonly configFor: (peer: Peer) => ConnectionConfig,
    private readonly maxConnections: number,
    private readonly newCid: () => Uint8Array = () => randomBytes(CID_BYTES),
    /** Connections one address may hold (its cookie proved the address): one host cannot take every slot. */
    private readonly maxPerAddress: number = maxConnections,
  ) {}

  private connectionsFrom(address: string): number {
    let n = 0;
    for (const { peer } of this.byCid.values()) if (peer.address === address) n++;
    return n;
  }

  private accepting = true;

  /** Refuse new connections (SYNs get a RESET); existing ones keep working. */
  stopAccepting(): void {
    this.accepting = false;
  }

  get size(): number {
    return this.byCid.size;
  }

  /**
   * Forget a connection (closed). Later packets for it get a RESET, or, if it finished cleanly, for
   * TOMBSTONE_MS a CLOSE "finished" that tells the peer its retransmissions had all arrived.
   */
  remove(conn: Connection, now: number): void {
    this.byCid.delete(key(conn.localCid));
    if (!conn.finishedCleanly) return;
    if (this.finished.size >= MAX_TOMBSTONES) this.finished.delete(this.finished.keys().next().value as number);
    this.finished.set(key(conn.localCid), {
      localCid: conn.localCid,
      remoteCid: conn.remoteCid,
      pn: conn.nextPacketNumber,
      until: now + TOMBSTONE_MS,
    });
  }

  receive(datagram: Uint8Array, from: Peer, now: number): Routed {
    let packet: ReturnType<typeof readPacket>;
    try {
      packet = readPacket(datagram);
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      this.counters.malformed++;
      // A SYN-sized datagram from another protocol version: say which versions we speak (11 bytes,
      // so it cannot amplify), instead of leaving the peer to time out.
      if (datagram.byteLength >= MIN_DATAGRAM && versionOf(datagram) !== WIRE_VERSION && versionOf(datagram) !== 0)
        return { replies: [{ to: from, bytes: encodeVersionNegotiation(datagram) }] };
      return { replies: [] };
    }
    const peerKey = `${from.address}|${from.port}`;
    switch (packet.type) {
      case "syn": {
        if (!this.accepting) return { replies: this.reset(packet.clientCid, from, now) };
        const serverCid = this.newCid();
        const cookie = this.cookies.mint(
          { peer: peerKey, clientCid: packet.clientCid, serverCid, params: packet.params },
          now,
        );
        const reply = encodeSynAck(packet.clientCid, serverCid, cookie, this.paramsFor(from));
        return { replies: [{ to: from, bytes: reply }] };
      }
      case "echo": {
        const existing = this.lookup(packet.serverCid);
        if (existing) {
          existing.conn.receive(packet, now);
          return { replies: [], conn: existing.conn };
        }
        const minted = this.cookies.verify(
          packet.cookie,
          { peer: peerKey, clientCid: packet.clientCid, serverCid: packet.serverCid, params: packet.params },
          now,
        );
        if (minted === null) {
          this.counters.badCookies++;
          return { replies: [] };
        }
        // A 48-bit prefix clash with a live connection is astronomically rare; the client retries.
        if (
          this.byCid.size >= this.maxConnections ||
          !this.accepting ||
          this.byCid.has(key(packet.serverCid)) ||
          this.connectionsFrom(from.address) >= this.maxPerAddress
        ) {
          this.counters.refused++;
          return { replies: [] };
        }
        const conn = new Connection("server", packet.serverCid, packet.clientCid, this.configFor(from), now);
        this.byCid.set(key(packet.serverCid), { conn, peer: { address: from.address, port: from.port } });
        conn.acceptEcho(packet, now - minted, now);
        return { replies: [], conn, created: true };
      }
      case "data": {
        const entry = this.lookup(packet.dcid);
        if (entry) {
          // Follow the peer if its address changed (NAT rebinding): the CID, not the address, names it.
          // Only a packet that parsed moves it, so junk wearing a known CID cannot redirect replies.
          const before = entry.conn.counters.packetsReceived;
          entry.conn.receive(packet, now);
          if (entry.conn.counters.packetsReceived > before) {
            entry.peer.address = from.address;
            entry.peer.port = from.port;
          }
          return { replies: [], conn: entry.conn };
        }
        return { replies: this.answerUnknown(packet.dcid, datagram.byteLength, from, now) };
      }
      default:
        return { replies: [] };
    }
  }

  peerOf(conn: Connection): Peer | undefined {
    return this.lookup(conn.localCid)?.peer;
  }

  private lookup(cid: Uint8Array): { conn: Connection; peer: Peer } | undefined {
    const entry = this.byCid.get(key(cid));
    return entry && sameBytes(entry.conn.localCid, cid) ? entry : undefined;
  }

  private paramsFor(peer: Peer) {
    const config = this.configFor(peer);
    return { maxDatagram: ACCEPT_DATAGRAM, initialMaxData: config.window.initial, idleTimeoutMs: config.idleTimeoutMs };
  }

  private answerUnknown(cid: Uint8Array, size: number, to: Peer, now: number): { to: Peer; bytes: Uint8Array }[] {
    const k = key(cid);
    const t = this.finished.get(k);
    if (!t || !sameBytes(t.localCid, cid)) return this.reset(cid, to, now);
    if (now > t.until) {
      this.finished.delete(k);
      return this.reset(cid, to, now);
    }
    const w = startData(new Uint8Array(64), t.remoteCid, t.pn);
    w.at = writeCloseFrame(w.view, w.at, CLOSE_CODE.finished, "");
    // Never larger than what provoked it (no amplification); the peer's next probe is larger.
    if (w.at > size || !this.spendReplyBudget(now)) return [];
    t.pn++;
    return [{ to, bytes: w.done() }];
  }

  /** Answers to unknown CIDs are rate-limited (they cost us a packet each). */
  private spendReplyBudget(now: number): boolean {
    this.resetBudget = Math.min(
      RESETS_PER_SECOND,
      this.resetBudget + ((now - this.resetRefill) * RESETS_PER_SECOND) / 1000,
    );
    this.resetRefill = now;
    if (this.resetBudget < 1) return false;
    this.resetBudget--;
    return true;
  }

  private reset(cid: Uint8Array, to: Peer, now: number): { to: Peer; bytes: Uint8Array }[] {
    if (!this.spendReplyBudget(now)) return [];
    this.counters.resets++;
    return [{ to, bytes: encodeReset(cid) }];
  }
}

function key(cid: Uint8Array): number {
  let k = 0;
  for (let i = 0; i < 6; i++) k = k * 256 + (cid[i] as number);
  return k;
}
