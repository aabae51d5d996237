/**
 * After the relay paired two peers and their handshake succeeded through it: try a direct TCP
 * connection both ways (each side listens and dials the other's candidates, exchanged inside the
 * sealed session) and a punched UDP path (§4.2), and move the session to the one the sender prefers
 * when it authenticates; otherwise stay on the relay (docs/PROTOCOL.md §4.1). A direct connection runs
 * the same handshake with the same code, so it is exactly as authentic and as sealed as the relayed
 * one, under keys of its own (bound to `direct-tcp` or `direct-udp`).
 */
import { randomBytes } from "node:crypto";
import type { Listener, StreamConnection, TransportContext, TransportDefinition } from "../../plugin/api.ts";
import { formatPeer, type UdpPort } from "../../plugin/udp/index.ts";
import { waitAtMost } from "../bounded.ts";
import { toXferError, XferError } from "../errors.ts";
import { secureStream } from "../secure/stream-handshake.ts";
import { candidatesFor, encodePathMessage, type LocalAddress, udpCandidatesFor } from "./paths.ts";
import { PreludeReader } from "./prelude-reader.ts";
import { PUNCH_TAG_BYTES, type Punching, punch } from "./punch.ts";
import type { MeetingTrace } from "./trace.ts";

/** How long the sender waits for a direct connection before it keeps the relay. */
export const DIRECT_WINDOW_MS = 800;
/** Direct connections a side accepts while it looks for a path: each is one guess at the code. */
export const MAX_DIRECT_ACCEPTS = 8;
/** The transport name the direct handshake binds (keys for it open nothing else). */
export const DIRECT_TRANSPORT_NAME = "direct-tcp";
/** The same for a session over a punched UDP path. */
export const DIRECT_UDP_TRANSPORT_NAME = "direct-udp";
/** How long the sender waits for a punched path to authenticate (the meeting adds 5 relay RTTs). */
export const PUNCH_WINDOW_MS = 1300;

export type DirectKind = "direct" | "direct-udp";

export interface UdpOffer {
  /** A stream transport that runs over a punched socket (capabilities.udpPath: udp-reliable). */
  transport: TransportDefinition<"stream">;
  /** The punching socket; handed to the transport once a peer is heard, else closed here. */
  port: UdpPort;
  /** The address the relay's reflection saw the socket as, if it answered. */
  reflected: string | null;
}

export interface DirectOptions {
  role: "sender" | "receiver";
  code: string;
  /** The stream transport for direct connections (tcp-stream). */
  base: TransportDefinition<"stream">;
  ctx: TransportContext;
  /** This side's and the other side's addresses as the relay saw them. */
  seenAs: string;
  peerSeenAs: string;
  interfaces: readonly LocalAddress[];
  /** False: offer nothing, dial nothing; the session stays on the relay (the other side is told). */
  direct: boolean;
  /** Offer and try direct TCP (default true; false with `--via udp-reliable`). */
  tcp?: boolean;
  /** Offer and try a punched UDP path on this socket. */
  udp?: UdpOffer;
  /** Sender: which direct path wins when both authenticate in time (default "direct", TCP). */
  prefer?: DirectKind;
  windowMs?: number;
  punchWindowMs?: number;
  /** Receiver: how long its low-TTL probes go at most, unless the sender's come first (punch.ts). */
  primeMs?: number;
  trace?: MeetingTrace;
}

export interface ChosenPath {
  conn: StreamConnection;
  path: DirectKind | "relayed";
  /** The direct connection's peer address; for the relay, the relay's connection's. */
  remote: string;
  /** Direct: how long its handshake took (about one round trip). */
  handshakeMs?: number;
  /** Relayed although a punched UDP path was offered: why it was not used. */
  udpFailed?: string;
}

interface Candidate {
  kind: DirectKind;
  raw: StreamConnection;
  sealed: StreamConnection;
  reader: PreludeReader;
  handshakeMs: number;
}

/** How long the receiver waits at most for its first probe to leave before it sends its paths. */
const FIRST_PROBE_WAIT_MS = 200;
/** How long the receiver waits for the direct connection the sender said it chose. */
const CHOSEN_WAIT_MS = 5000;

export async function chooseDirectOrRelay(relayed: StreamConnection, opts: DirectOptions): Promise<ChosenPath> {
  const trace = opts.trace ?? (() => {});
  const windowMs = opts.windowMs ?? DIRECT_WINDOW_MS;
  const punchWindowMs = opts.punchWindowMs ?? PUNCH_WINDOW_MS;
  const offersTcp = opts.direct && opts.tcp !== false;
  const udp = opts.direct ? opts.udp : undefined;
  const relay = new PreludeReader(relayed);
  const raws = new Set<StreamConnection>();
  let accepting = true;
  let accepted = 0;
  const arrived: Candidate[] = [];
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };

  /** The first authenticated candidate that `wanted` takes, within `ms` (null when none came, or once stopped). */
  const firstOf = async (wanted: (c: Candidate) => boolean, ms: number): Promise<Candidate | null> => {
    const until = performance.now() + ms;
    for (;;) {
      const found = arrived.find(wanted);
      if (found) return found;
      const left = until - performance.now();
      if (left <= 0 || !accepting) return null;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        waiters.add(done);
      });
    }
  };

  // The sender takes the first direct connection to authenticate (of the kind it prefers); the
  // receiver the one the sender marks as chosen (the first message on it).
  const authenticate = async (raw: StreamConnection, kind: DirectKind) => {
    raws.add(raw);
    const started = performance.now();
    const transport = kind === "direct" ? DIRECT_TRANSPORT_NAME : DIRECT_UDP_TRANSPORT_NAME;
    try {
      trace(`${kind}-connected`);
      const sealed = await secureStream(raw, { role: opts.role, code: opts.code, ctx: { kind: "stream", transport } });
      trace(`${kind}-authenticated`);
      const c: Candidate = {
        kind,
        raw,
        sealed,
        reader: new PreludeReader(sealed),
        handshakeMs: performance.now() - started,
      };
      if (opts.role === "receiver") {
        const first = await c.reader.message(windowMs + punchWindowMs + CHOSEN_WAIT_MS + 10_000);
        if (first.type !== "chosen") return raw.destroy();
      }
      arrived.push(c);
      wake();
    } catch {
      raw.destroy();
    }
  };
  const admit = (raw: StreamConnection, kind: DirectKind) => {
    if (!accepting || ++accepted > MAX_DIRECT_ACCEPTS) return raw.destroy();
    void authenticate(raw, kind);
  };

  let listener: Listener | null = null;
  if (offersTcp)
    try {
      listener = await opts.base.listen({ host: "0.0.0.0", port: 0 }, opts.ctx, (raw) => admit(raw, "direct"));
    } catch {
      // No port of our own to offer: our dials to the other side may still work.
    }
  const myTag = randomBytes(PUNCH_TAG_BYTES);
  let punching: Punching | null = null;
  /** The punching socket went to a transport (its listener or a dial), which closes it from then on. */
  let udpHandedOver = false;
  let udpListener: Listener | null = null;
  let udpFailed: string | undefined;
  const dials = new AbortController();
  /** Stop looking: no more accepts or dials; every direct connection but `keep` is closed. */
  const stopLooking = async (keep?: Candidate) => {
    accepting = false;
    wake();
    dials.abort();
    punching?.stop();
    await listener?.close().catch(() => {});
    await udpListener?.close().catch(() => {});
    for (const r of raws) if (r !== keep?.raw) r.destroy();
    if (udp && !udpHandedOver) udp.port.close();
  };
  const leaveRelay = () => void waitAtMost(relayed.end(), 1000).then(() => relayed.destroy());
  const onRelay = (): ChosenPath => ({ conn: relay.rest(), path: "relayed", remote: relayed.remote, udpFailed });
  const direct = (c: Candidate): ChosenPath => ({
    conn: c.reader.rest(c.raw.remote),
    path: c.kind,
    remote: c.raw.remote,
    handshakeMs: c.handshakeMs,
  });

  try {
    const mine = listener ? candidatesFor(listener.address.port, opts.interfaces, opts.seenAs, opts.peerSeenAs) : [];
    const myUdp = udp
      ? {
          candidates: udpCandidatesFor(
            udp.port.local.port,
            opts.interfaces,
            opts.seenAs,
            opts.peerSeenAs,
            udp.reflected,
          ),
          tag: myTag.toString("hex"),
        }
      : undefined;
    const sendPaths = () =>
      relayed.write(
        encodePathMessage({ type: "paths", candidates: mine, direct: opts.direct, ...(myUdp ? { udp: myUdp } : {}) }),
      );
    // The receiver answers the sender's paths only once its own first probe has left (below): so when
    // they reach the sender, the receiver's NAT already sends out to it, and the sender probes at
    // full TTL at once, with no timer to guess how late the receiver starts.
    if (opts.role === "sender") await sendPaths();
    const theirs = await relay.message(10_000);
    trace("paths");
    if (theirs.type !== "paths") throw new XferError("protocol", `expected paths, the peer sent '${theirs.type}'`);
    // Either side's candidates will do: a side with none (no listener) still dials the other's.
    const tryingTcp = offersTcp && theirs.direct && mine.length + theirs.candidates.length > 0;
    for (const address of tryingTcp ? theirs.candidates : []) {
      const at = address.lastIndexOf(":");
      const host = address.slice(0, at).replace(/^\[|\]$/g, "");
      opts.base.dial({ host, port: Number(address.slice(at + 1)) }, opts.ctx, dials.signal).then(
        (raw) => (accepting ? void authenticate(raw, "direct") : raw.destroy()),
        () => {},
      );
    }
    const tryingUdp = udp !== undefined && theirs.direct && theirs.udp !== undefined;
    if (udp && !tryingUdp)
      udpFailed = theirs.direct ? "the other side offers no UDP path" : "the other side keeps to the relay";
    if (udp && tryingUdp && theirs.udp) {
      const path = { port: udp.port };
      if (opts.role === "receiver") {
        // Listen on the punching socket at once: the sender dials as soon as it hears a probe.
        udpListener = await udp.transport.listen(udp.port.local, opts.ctx, (raw) => admit(raw, "direct-udp"), path);
        udpHandedOver = true;
      }
      let dialed = false;
      punching = punch(
        udp.port,
        {
          theirs: theirs.udp.candidates,
          theirTag: Uint8Array.from(Buffer.from(theirs.udp.tag, "hex")),
          myTag,
          primeMs: opts.role === "sender" ? 0 : opts.primeMs,
        },
        (from, sinceFullMs) => {
          trace("probe-heard");
          if (opts.role !== "sender" || dialed || !accepting) return;
          dialed = true;
          udpHandedOver = true;
          // The sender probed at full TTL from the start and the receiver answers at once: this is the
          // punched path's round trip, which times the transport's handshake repeats (a lost SYN).
          const hinted = { ...path, rttHintMs: sinceFullMs };
          udp.transport.dial({ host: from.address, port: from.port }, opts.ctx, dials.signal, hinted).then(
            (raw) => (accepting ? void authenticate(raw, "direct-udp") : raw.destroy()),
            (err: unknown) => {
              udpFailed = `heard ${formatPeer(from)} but ${udp.transport.name} did not connect: ${toXferError(err).message}`;
            },
          );
        },
      );
    }

    // node:dgram only queues a send: the first probe must be out (through our NAT) before the sender,
    // told by these paths, probes at full TTL; on a fast path the paths can arrive first otherwise.
    if (opts.role === "receiver") {
      if (punching) await waitAtMost(punching.firstSent, FIRST_PROBE_WAIT_MS);
      await sendPaths();
    }

    if (opts.role === "sender") {
      const winner = await pickWinner(opts.prefer ?? "direct", { tcp: tryingTcp, udp: tryingUdp });
      if (!winner) {
        if (tryingUdp && !udpFailed)
          udpFailed = `no probe from the other side's ${theirs.udp?.candidates.length ?? 0} UDP candidates within ${(punchWindowMs / 1000).toFixed(1)} s (UDP blocked, or a NAT that changes ports)`;
        await relayed.write(encodePathMessage({ type: "use", path: "relay" }));
        await stopLooking();
        return onRelay();
      }
      await winner.sealed.write(encodePathMessage({ type: "chosen" }));
      await relayed.write(encodePathMessage({ type: "use", path: "direct" }));
      await stopLooking(winner);
      leaveRelay();
      return direct(winner);
    }

    // The sender decides within its window and says so on the relay; its mark on a direct connection
    // may come first, and counts even if the relay dies before its answer gets through.
    const answer = relay.message(windowMs + punchWindowMs + 10_000).then(
      (m) => ({ use: m }),
      (err: unknown) => ({ failed: err }),
    );
    const chosen = firstOf(() => true, windowMs + punchWindowMs + CHOSEN_WAIT_MS + 10_000);
    const first = await Promise.race([chosen.then((c) => ({ chosen: c })), answer]);
    if ("use" in first && first.use.type !== "use")
      throw new XferError("protocol", `expected use, the peer sent '${first.use.type}'`);
    if ("use" in first && first.use.type === "use" && first.use.path === "relay") {
      if (tryingUdp) udpFailed = "the sender found no punched path";
      await stopLooking();
      return onRelay();
    }
    const winner = "chosen" in first && first.chosen ? first.chosen : await firstOf(() => true, CHOSEN_WAIT_MS);
    if (!winner) {
      if ("failed" in first) throw first.failed;
      throw new XferError("protocol", "the sender chose a direct connection that never arrived");
    }
    await stopLooking(winner);
    leaveRelay();
    return direct(winner);
  } catch (err) {
    await stopLooking();
    throw toXferError(err);
  }

  /**
   * The sender's choice: the preferred kind within its window, else the other kind within its own
   * (both counted from now), else null (the relay).
   */
  async function pickWinner(prefer: DirectKind, trying: { tcp: boolean; udp: boolean }): Promise<Candidate | null> {
    const started = performance.now();
    const windowOf = (kind: DirectKind) =>
      (kind === "direct" ? trying.tcp : trying.udp) ? (kind === "direct" ? windowMs : punchWindowMs) : 0;
    const other: DirectKind = prefer === "direct" ? "direct-udp" : "direct";
    const best = await firstOf((c) => c.kind === prefer, windowOf(prefer));
    if (best) return best;
    return firstOf((c) => c.kind === other, windowOf(other) - (performance.now() - started));
  }
}
