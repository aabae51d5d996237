/**
 * `xfer relay`: a TCP rendezvous that pairs two peers per room and then pipes their bytes both ways
 * (relay protocol v1, docs/PROTOCOL.md §4). It never holds a key: what it pipes is already sealed.
 * The sockets are in sockets/ (Bun's own where it runs on Bun, node:net elsewhere); every decision
 * (limits, pairing, expiry) is RoomBook's. On the same port number it answers UDP reflection requests
 * from room members (Reflector's decisions), so that two peers behind NATs can punch a hole.
 */

import { createHash, timingSafeEqual } from "node:crypto";
import { setImmediate } from "node:timers";
import { toXferError } from "../core/errors.ts";
import { PAD_FRAME, PaddedReader, type PadSender, padSender } from "../core/rendezvous/padded.ts";
import {
  encodeRelayMessage,
  MAX_RELAY_MESSAGE_BYTES,
  parseJoin,
  RELAY_FRAME_HEADER_BYTES,
  RELAY_PROTOCOL_VERSION,
  type RefusalCode,
  RelayFrameDecoder,
} from "../core/rendezvous/wire.ts";
import { PreambleReader } from "../plugin/tcp/preamble.ts";
import { Reflector } from "./reflector.ts";
import { type RelayLimits, RoomBook } from "./rooms.ts";
import { bunListen } from "./sockets/bun.ts";
import { nodeListen } from "./sockets/node.ts";
import type { PeerSocket } from "./sockets/peer.ts";
import { udpListen } from "./sockets/udp.ts";

/** A peer must say which room it wants within this; a silent connection is not held. */
export const JOIN_TIMEOUT_MS = 10_000;
const SWEEP_EVERY_MS = 1000;

const useBun = typeof globalThis.Bun?.listen === "function" && !process.env.XFER_TCP_PORTABLE;

export type RelayEvent =
  | { event: "relay-listening"; host: string; port: number }
  | {
      event: "relay-room";
      room: string;
      outcome: "paired" | "closed" | "left" | "refused" | "expired" | "cut";
      bytes: number;
      seconds: number;
      reason?: string;
    };

export interface RelayOptions {
  host: string;
  port: number;
  /** Peers must give this in their join (an access check, not secrecy: it travels in the clear). */
  password?: string;
  limits: RelayLimits;
  onEvent?: (e: RelayEvent) => void;
  now?: () => number;
  /** Which sockets (default: Bun's own on Bun unless XFER_TCP_PORTABLE is set, node:net elsewhere). */
  sockets?: "bun" | "node";
}

export interface RelayServer {
  readonly address: { host: string; port: number };
  close(): Promise<void>;
}

export async function startRelay(opts: RelayOptions): Promise<RelayServer> {
  const now = opts.now ?? Date.now;
  const book = new RoomBook<PeerSocket>(opts.limits, now);
  const emit = opts.onEvent ?? (() => {});
  const expected = opts.password === undefined ? null : digest(opts.password);
  /** The room each paired socket is in, and when it was paired: for the report when it closes. */
  const pairs = new Map<PeerSocket, { room: string; since: number; peer: PeerSocket }>();
  const reflector = new Reflector(now);
  /** The reflection token of each member that asked for one; it dies with the member's connection. */
  const tokens = new Map<PeerSocket, string>();
  /** Members whose join asked for the padded start (padded.ts). */
  const padded = new WeakSet<PeerSocket>();
  /**
   * Bytes of the padding frame behind a padded join not yet seen: what comes of it after the pairing
   * the pipe's reader takes (one byte of it already seen: it starts inside the frame's header).
   */
  const padBytesDue = new WeakMap<PeerSocket, number>();
  /** What the relay sends a padded member after the pairing goes through its PadSender. */
  const padSenders = new WeakMap<PeerSocket, PadSender & { congested: boolean }>();
  const dropToken = (socket: PeerSocket) => {
    const token = tokens.get(socket);
    if (token === undefined) return;
    reflector.revoke(token);
    tokens.delete(socket);
  };

  const refuse = (socket: PeerSocket, code: RefusalCode, reason: string, room = "-") => {
    emit({
      event: "relay-room",
      room,
      outcome: code === "expired" ? "expired" : "refused",
      bytes: 0,
      seconds: 0,
      reason,
    });
    socket.write(encodeRelayMessage({ type: "refused", code, reason }));
    socket.end();
    // A peer that keeps its side open after a refusal is not waited for.
    setTimeout(() => socket.destroy(), 2000).unref();
  };

  const accept = (socket: PeerSocket) => {
    const decoder = new RelayFrameDecoder();
    const joinTimer = setTimeout(() => refuse(socket, "bad-request", "no join message in time"), JOIN_TIMEOUT_MS);
    let joined: string | null = null;
    /** Takes the padding behind a padded join off the front of `bytes`; what is left the peer had no right to send yet. */
    const afterPad = (bytes: Uint8Array) => {
      let allowed = padBytesDue.get(socket) ?? 0;
      let at = 0;
      while (at < bytes.byteLength && allowed > 0 && bytes[at] === 0) {
        at++;
        allowed--;
      }
      padBytesDue.set(socket, allowed);
      return bytes.subarray(at);
    };
    // A client dialing through tcp-stream names it in a TCP preamble first (docs/PROTOCOL.md §6); a
    // relay message never starts with its magic (that length would be over 22 kB), so both are read.
    let preamble: PreambleReader | null = new PreambleReader();
    socket.handlers = {
      data(chunk) {
        if (preamble) {
          const r = preamble.feed(chunk);
          if (r.kind === "more") return;
          preamble = null;
          if (r.kind === "bad") {
            clearTimeout(joinTimer);
            return refuse(socket, "bad-request", `bad TCP preamble: ${r.reason}`);
          }
          chunk = r.rest;
          if (chunk.byteLength === 0) return;
        }
        if (joined !== null) {
          if (afterPad(chunk).byteLength === 0) return;
          // Nothing may come between a join and the pairing: the peer would be talking to nobody.
          book.leave(socket);
          return refuse(socket, "bad-request", "sent data before the other side arrived", joined);
        }
        decoder.push(chunk);
        let join: ReturnType<typeof parseJoin>;
        try {
          if (decoder.buffered > RELAY_FRAME_HEADER_BYTES + MAX_RELAY_MESSAGE_BYTES && decoder.next() === null)
            throw new Error("join message too large");
          const raw = decoder.next();
          if (raw === null) return;
          if ((raw as { relay?: unknown }).relay !== RELAY_PROTOCOL_VERSION) {
            clearTimeout(joinTimer);
            return refuse(
              socket,
              "version",
              `this relay speaks relay protocol v${RELAY_PROTOCOL_VERSION}: update xfer`,
            );
          }
          join = parseJoin(raw);
        } catch (err) {
          clearTimeout(joinTimer);
          return refuse(socket, "bad-request", toXferError(err).message.slice(0, 200));
        }
        clearTimeout(joinTimer);
        if (join.padded) padBytesDue.set(socket, PAD_FRAME.byteLength);
        if (afterPad(decoder.takeRest()).byteLength > 0)
          return refuse(socket, "bad-request", "sent data before the other side arrived", join.room);
        if (expected && !(join.password !== undefined && timingSafeEqual(digest(join.password), expected)))
          return refuse(socket, "password", "this relay needs its password (--relay-password or XFER_RELAY_PASSWORD)");
        const outcome = book.join({ room: join.room, side: join.side, host: socket.host, bytes: join.bytes }, socket);
        if (outcome.kind === "refused") return refuse(socket, outcome.code, outcome.reason, join.room);
        joined = join.room;
        if (join.udp) tokens.set(socket, reflector.issue(socket.host));
        if (join.padded) padded.add(socket);
        if (outcome.kind === "waiting") {
          socket.write(
            encodeRelayMessage({
              type: "waiting",
              you: printable(socket),
              expiresInSeconds: Math.round(outcome.expiresInMs / 1000),
            }),
          );
          return;
        }
        pair(join.room, outcome.peer, socket);
      },
      // A peer that half-closes before it is paired is leaving: close our side too, so it is gone.
      end: () => socket.end(),
      drain() {},
      close() {
        clearTimeout(joinTimer);
        dropToken(socket);
        if (pairs.has(socket) || joined === null || !book.has(socket)) return;
        // A lone peer that left: its room goes with it.
        book.leave(socket);
        emit({ event: "relay-room", room: joined, outcome: "left", bytes: 0, seconds: 0 });
      },
    };
  };

  /**
   * A member's token goes out with the pairing, and only when both sides asked for one: a peer from
   * before reflection would refuse the UDP candidates the other would then offer it.
   */
  const tokenOf = (me: PeerSocket, peer: PeerSocket) => {
    const token = tokens.get(me);
    return token === undefined || !tokens.has(peer) ? {} : { token };
  };

  const pair = (room: string, first: PeerSocket, second: PeerSocket) => {
    const since = now();
    let closed = 0;
    const onClose = () => {
      if (++closed < 2) return;
      const bytes = book.bytesOf(first);
      book.leave(first);
      pairs.delete(first);
      pairs.delete(second);
      emit({ event: "relay-room", room, outcome: "closed", bytes, seconds: (now() - since) / 1000 });
    };
    for (const me of [first, second])
      if (padded.has(me)) {
        let kept = true;
        const sender = padSender(
          (part) => {
            kept = me.write(part) && kept;
          },
          (fn) => setImmediate(fn),
        );
        padSenders.set(me, {
          write(data) {
            kept = true;
            sender.write(data);
          },
          pad: () => sender.pad(),
          flush: () => sender.flush(),
          get congested() {
            return !kept;
          },
        });
      }
    for (const [me, peer] of [
      [first, second],
      [second, first],
    ] as const) {
      pairs.set(me, { room, since, peer });
      me.write(encodeRelayMessage({ type: "paired", you: printable(me), peer: printable(peer), ...tokenOf(me, peer) }));
      // The pairing is the sender's first answer: a padding frame behind it too (it opens the framed start).
      padSenders.get(me)?.pad();
      pipe(me, peer, onClose);
    }
    emit({ event: "relay-room", room, outcome: "paired", bytes: 0, seconds: 0 });
  };

  const cut = (socket: PeerSocket, reason: string) => {
    const pair = pairs.get(socket);
    if (!pair) return;
    emit({
      event: "relay-room",
      room: pair.room,
      outcome: "cut",
      bytes: book.bytesOf(socket),
      seconds: (now() - pair.since) / 1000,
      reason,
    });
    socket.destroy();
    pair.peer.destroy();
  };

  /**
   * `from`'s bytes to `to`, paced by `to`'s drain; `to`'s drain resumes `from`. A side that joined with
   * `padded` sends its first bytes framed (unwrapped here) and gets the first bytes it is sent framed,
   * each write followed by a padding frame of its own: the meeting's messages cross its link with a
   * second segment behind them, whichever the other side asked for.
   */
  const pipe = (from: PeerSocket, to: PeerSocket, onClose: () => void) => {
    let ended = false;
    const reader = padded.has(from) ? new PaddedReader(padBytesDue.get(from) === 1) : null;
    const sender = padSenders.get(to);
    from.handlers = {
      data(chunk) {
        if (!book.charge(from, chunk.byteLength)) return cut(from, "the room went past this relay's byte limit");
        let data = chunk;
        if (reader)
          try {
            data = reader.decode(chunk);
          } catch (err) {
            return cut(from, toXferError(err).message);
          }
        if (data.byteLength === 0) return;
        if (!sender) {
          if (!to.write(data)) from.pause();
          return;
        }
        sender.write(data);
        if (sender.congested) from.pause();
      },
      // Half-close travels on: the session ends one direction while verdicts still come back the other.
      end() {
        ended = true;
        sender?.flush();
        to.end();
      },
      drain: () => to.resume(),
      // An orderly close may come without its own end (Bun, when our side was shut first): pass it on as
      // one; only a failed connection fails the other side.
      close(failed) {
        if (!ended && !failed) sender?.flush();
        if (!ended) failed ? to.destroy() : to.end();
        dropToken(from);
        onClose();
      },
    };
  };

  const sweeper = setInterval(() => {
    for (const { handle, code, reason } of book.sweep()) {
      if (pairs.has(handle)) cut(handle, reason);
      else refuse(handle, code, reason);
    }
  }, SWEEP_EVERY_MS);
  sweeper.unref();

  const sockets = opts.sockets ?? (useBun ? "bun" : "node");
  const listener = await (sockets === "bun" ? bunListen : nodeListen)(opts.host, opts.port, accept);
  let udp: Awaited<ReturnType<typeof udpListen>>;
  try {
    udp = await udpListen(opts.host, listener.port, (data, from) => reflector.answer(data, from));
  } catch (err) {
    await listener.close();
    throw err;
  }
  const address = { host: opts.host, port: listener.port };
  emit({ event: "relay-listening", ...address });
  return {
    address,
    close: async () => {
      clearInterval(sweeper);
      udp.close();
      await listener.close();
    },
  };
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

function printable(socket: PeerSocket): string {
  return `${socket.host.includes(":") ? `[${socket.host}]` : socket.host}:${socket.port}`;
}
