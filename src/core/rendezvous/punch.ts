/**
 * UDP hole punching (docs/PROTOCOL.md §4.2): one UDP socket per side, which first asks the relay what
 * address it is seen as, then sends small probes to the other side's candidates until one of theirs
 * arrives. Sending opens this side's NAT for the other's address; the first probe that gets in proves
 * a path both ways. A probe carries the receiving side's tag, which only the two peers know (it travels
 * inside the sealed session), so a stranger's datagrams are ignored; the session on the punched path
 * then authenticates again with the code anyway.
 */
import type { Endpoint } from "../../plugin/api.ts";
import {
  bindUdp,
  formatPeer,
  resolvePeer,
  UDP_RECV_BUFFER_BYTES,
  type UdpPeer,
  type UdpPort,
} from "../../plugin/udp/index.ts";
import { decodeReflectReply, encodeReflectRequest, isReflect } from "./reflect-wire.ts";

/** 'P': no udp-reliable (0x55), udp-raw (0x52) or reflection (0x58) datagram starts so. */
export const PROBE_MAGIC = 0x50;
const PROBE_VERSION = 1;
export const PUNCH_TAG_BYTES = 16;
const PROBE_BYTES = 2 + PUNCH_TAG_BYTES;
/** Probes go to every candidate this often while punching. */
const PROBE_EVERY_MS = 100;
/** Reflection requests are repeated this often, for at most REFLECT_TIMEOUT_MS (UDP may be blocked). */
const REFLECT_EVERY_MS = 125;
const REFLECT_TIMEOUT_MS = 1000;
/** Probes answered straight back to their source (a NAT that changed our port), at most. */
const MAX_ECHOES = 16;
/**
 * The first probes leave with this TTL: enough to open our own NAT's mapping, not enough to reach the
 * other side's NAT. A probe that reached it before its own host had sent out would make it track an
 * inbound flow to itself, and its masquerade would then give our peer's outgoing probes another port
 * (Linux conntrack: the tuple is taken), so the hole would never line up.
 */
export const PRIME_TTL = 2;
/**
 * The receiver primes until the sender's first probe is heard, and at most this long (the meeting
 * adds the relay's RTT); the sender does not prime at all (direct.ts: it punches only once the
 * receiver's paths came, and the receiver sends them only after its first probe left).
 */
export const PRIME_MS = 500;
const FULL_TTL = 64;

export function encodeProbe(tag: Uint8Array): Uint8Array {
  const out = new Uint8Array(PROBE_BYTES);
  out[0] = PROBE_MAGIC;
  out[1] = PROBE_VERSION;
  out.set(tag, 2);
  return out;
}

/** True for a probe that carries exactly `tag`. */
export function isProbeFor(datagram: Uint8Array, tag: Uint8Array): boolean {
  if (datagram.byteLength !== PROBE_BYTES || datagram[0] !== PROBE_MAGIC || datagram[1] !== PROBE_VERSION) return false;
  for (let i = 0; i < PUNCH_TAG_BYTES; i++) if (datagram[2 + i] !== tag[i]) return false;
  return true;
}

/** "1.2.3.4:5" → a peer; null for anything else. */
export function peerOf(address: string): UdpPeer | null {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(address);
  if (!m) return null;
  const port = Number(m[2]);
  return port > 0 && port < 65536 ? { address: m[1]!, port } : null;
}

/**
 * Bind the punching socket (IPv4, any port), sized as the UDP transports size theirs, on an adapter
 * that can set the TTL for the priming (under Deno that is node:dgram, not Deno.listenDatagram).
 */
export function openPunchSocket(): Promise<UdpPort> {
  return bindUdp({ host: "0.0.0.0", port: 0 }, { recvBufferBytes: UDP_RECV_BUFFER_BYTES, ttl: true });
}

/**
 * Ask the relay's UDP port which address `port` is seen as; null when no answer came within
 * `timeoutMs` (UDP blocked, or a relay that does not reflect).
 */
export async function reflect(
  port: UdpPort,
  relay: Endpoint,
  token: string,
  timeoutMs = REFLECT_TIMEOUT_MS,
): Promise<string | null> {
  const to = await resolvePeer(relay).catch(() => null);
  if (!to || to.address.includes(":")) return null;
  const tokenBytes = Uint8Array.from(Buffer.from(token, "hex"));
  const request = encodeReflectRequest(tokenBytes);
  return new Promise((resolve) => {
    let timer: ReturnType<typeof setInterval> | undefined;
    let deadline: ReturnType<typeof setTimeout> | undefined;
    const done = (answer: string | null) => {
      clearInterval(timer);
      clearTimeout(deadline);
      detach();
      resolve(answer);
    };
    const detach = port.attach({
      claim(data, from) {
        if (!isReflect(data) || from.address !== to.address || from.port !== to.port) return false;
        const seen = decodeReflectReply(data, tokenBytes);
        if (seen) done(seen);
        return true;
      },
    });
    const ask = () => port.send([request], to);
    ask();
    timer = setInterval(ask, REFLECT_EVERY_MS);
    deadline = setTimeout(() => done(null), timeoutMs);
  });
}

export interface Punching {
  /** Resolves once the first probes have gone to the kernel (so the NAT in front has seen them). */
  firstSent: Promise<void>;
  /** Stop sending probes and stop claiming them. Idempotent. */
  stop(): void;
}

/**
 * Probe every one of `theirs` from `port` (tagged with their tag) until stop(); `onHeard` gets each
 * source a probe with our tag came from, first one first (each source once), and the time since our
 * first full-TTL probe left: for a side that probes at full TTL from the start (primeMs 0, the sender),
 * whose probe the other side answers at once, the path's round trip (longer if that probe was lost).
 */
export function punch(
  port: UdpPort,
  /** primeMs: how long the low-TTL probes go unless a probe is heard first (0: none, full at once). */
  opts: { theirs: readonly string[]; theirTag: Uint8Array; myTag: Uint8Array; primeMs?: number },
  onHeard: (from: UdpPeer, sinceFullMs: number) => void,
): Punching {
  const probe = encodeProbe(opts.theirTag);
  const targets = opts.theirs.map(peerOf).filter((p): p is UdpPeer => p !== null);
  const heard = new Set<string>();
  let echoes = 0;
  const detach = port.attach({
    claim(data, from) {
      if (data[0] !== PROBE_MAGIC) return false;
      if (!isProbeFor(data, opts.myTag)) return true;
      const key = formatPeer(from);
      if (!heard.has(key)) {
        heard.add(key);
        // Their probe got in, so their NAT already sends out to us: the priming has done its job.
        // Ending it here matters: what this socket sends next (the answer below, the transport's
        // first handshake packet) must not leave with the low TTL and die on the way.
        goFull();
        // Straight back, so a side whose NAT gave it another port than the one it offered is heard too.
        if (echoes++ < MAX_ECHOES) port.send([probe], from);
        onHeard(from, performance.now() - fullSince);
      }
      return true;
    },
  });
  const send = () => {
    for (const t of targets) port.send([probe], t);
  };
  // primeMs 0: no priming. Where the runtime cannot set the TTL, the full probes go at once too.
  let priming = opts.primeMs !== 0 && port.setTtl(PRIME_TTL);
  let timer: ReturnType<typeof setInterval> | undefined;
  let stopped = false;
  let fullSince = 0;
  const endPriming = () => {
    if (priming) port.setTtl(FULL_TTL);
    priming = false;
  };
  function goFull() {
    if (timer !== undefined || stopped) return;
    clearTimeout(full);
    endPriming();
    fullSince = performance.now();
    send();
    timer = setInterval(send, PROBE_EVERY_MS);
  }
  let full: ReturnType<typeof setTimeout> | undefined;
  if (priming) {
    send();
    full = setTimeout(goFull, opts.primeMs ?? PRIME_MS);
  } else goFull();
  return {
    firstSent: port.sent(),
    stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(full);
      clearInterval(timer);
      detach();
      endPriming();
    },
  };
}
