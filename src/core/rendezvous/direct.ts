/**
 * After the relay paired two peers and their handshake succeeded through it: try a direct TCP
 * connection both ways (each side listens and dials the other's candidates, exchanged inside the
 * sealed session), and move the session there when one authenticates; otherwise stay on the relay
 * (docs/PROTOCOL.md §4.1). A direct connection runs the same handshake with the same code, so it is
 * exactly as authentic and as sealed as the relayed one, under keys of its own.
 */
import type { Listener, StreamConnection, TransportContext, TransportDefinition } from "../../plugin/api.ts";
import { waitAtMost } from "../bounded.ts";
import { toXferError, XferError } from "../errors.ts";
import { secureStream } from "../secure/stream-handshake.ts";
import { candidatesFor, encodePathMessage, type LocalAddress } from "./paths.ts";
import { PreludeReader } from "./prelude-reader.ts";

/** How long the sender waits for a direct connection before it keeps the relay. */
export const DIRECT_WINDOW_MS = 800;
/** Direct connections a side accepts while it looks for a path: each is one guess at the code. */
export const MAX_DIRECT_ACCEPTS = 8;
/** The transport name the direct handshake binds (keys for it open nothing else). */
export const DIRECT_TRANSPORT_NAME = "direct-tcp";

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
  windowMs?: number;
}

export interface ChosenPath {
  conn: StreamConnection;
  path: "direct" | "relayed";
  /** The direct connection's peer address; for the relay, the relay's connection's. */
  remote: string;
  /** Direct: how long its handshake took (about one round trip). */
  handshakeMs?: number;
}

interface Candidate {
  raw: StreamConnection;
  sealed: StreamConnection;
  reader: PreludeReader;
  handshakeMs: number;
}

/** How long the receiver waits for the direct connection the sender said it chose. */
const CHOSEN_WAIT_MS = 5000;

export async function chooseDirectOrRelay(relayed: StreamConnection, opts: DirectOptions): Promise<ChosenPath> {
  const windowMs = opts.windowMs ?? DIRECT_WINDOW_MS;
  const relay = new PreludeReader(relayed);
  const ctx = { kind: "stream", transport: DIRECT_TRANSPORT_NAME };
  const raws = new Set<StreamConnection>();
  let accepting = true;
  let accepted = 0;
  let pick: (c: Candidate) => void = () => {};
  const picked = new Promise<Candidate>((resolve) => {
    pick = resolve;
  });

  // The sender takes the first direct connection to authenticate; the receiver the one the sender
  // marks as chosen (the first message on it).
  const authenticate = async (raw: StreamConnection) => {
    raws.add(raw);
    const started = performance.now();
    try {
      const sealed = await secureStream(raw, { role: opts.role, code: opts.code, ctx });
      const c: Candidate = { raw, sealed, reader: new PreludeReader(sealed), handshakeMs: performance.now() - started };
      if (opts.role === "sender") return pick(c);
      const first = await c.reader.message(windowMs + CHOSEN_WAIT_MS + 10_000);
      if (first.type === "chosen") pick(c);
    } catch {
      raw.destroy();
    }
  };

  let listener: Listener | null = null;
  if (opts.direct)
    try {
      listener = await opts.base.listen({ host: "0.0.0.0", port: 0 }, opts.ctx, (raw) => {
        if (!accepting || ++accepted > MAX_DIRECT_ACCEPTS) return raw.destroy();
        void authenticate(raw);
      });
    } catch {
      // No port of our own to offer: our dials to the other side may still work.
    }
  const dials = new AbortController();
  /** Stop looking: no more accepts or dials; every direct connection but `keep` is closed. */
  const stopLooking = async (keep?: Candidate) => {
    accepting = false;
    dials.abort();
    await listener?.close().catch(() => {});
    for (const r of raws) if (r !== keep?.raw) r.destroy();
  };
  const within = (ms: number) =>
    Promise.race([picked, new Promise<null>((resolve) => setTimeout(() => resolve(null), ms).unref?.())]);
  const leaveRelay = () => void waitAtMost(relayed.end(), 1000).then(() => relayed.destroy());
  const onRelay = (): ChosenPath => ({ conn: relay.rest(), path: "relayed", remote: relayed.remote });
  const direct = (c: Candidate): ChosenPath => ({
    conn: c.reader.rest(c.raw.remote),
    path: "direct",
    remote: c.raw.remote,
    handshakeMs: c.handshakeMs,
  });

  try {
    const mine = listener ? candidatesFor(listener.address.port, opts.interfaces, opts.seenAs, opts.peerSeenAs) : [];
    await relayed.write(encodePathMessage({ type: "paths", candidates: mine, direct: opts.direct }));
    const theirs = await relay.message(10_000);
    if (theirs.type !== "paths") throw new XferError("protocol", `expected paths, the peer sent '${theirs.type}'`);
    const trying = opts.direct && theirs.direct;
    for (const address of trying ? theirs.candidates : []) {
      const at = address.lastIndexOf(":");
      const host = address.slice(0, at).replace(/^\[|\]$/g, "");
      opts.base.dial({ host, port: Number(address.slice(at + 1)) }, opts.ctx, dials.signal).then(
        (raw) => (accepting ? void authenticate(raw) : raw.destroy()),
        () => {},
      );
    }

    if (opts.role === "sender") {
      const winner = trying ? await within(windowMs) : null;
      if (!winner) {
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
    const answer = relay.message(windowMs + 10_000).then(
      (m) => ({ use: m }),
      (err: unknown) => ({ failed: err }),
    );
    const first = await Promise.race([picked.then((c) => ({ chosen: c })), answer]);
    if ("use" in first && first.use.type !== "use")
      throw new XferError("protocol", `expected use, the peer sent '${first.use.type}'`);
    if ("use" in first && first.use.type === "use" && first.use.path === "relay") {
      await stopLooking();
      return onRelay();
    }
    const winner = "chosen" in first ? first.chosen : await within(CHOSEN_WAIT_MS);
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
}
