/**
 * Finding a receiver on the local network with no address and no relay (docs/PROTOCOL.md §5): the
 * sender broadcasts a query naming its code's room (the number, public anyway); a receiver whose code
 * has that number answers with its port. The handshake that follows proves the code, as always.
 */
import { createSocket, type Socket } from "node:dgram";
import { z } from "zod";
import { RoomName } from "./wire.ts";

export const DISCOVERY_PORT = 7877;
export const DISCOVERY_VERSION = 1;
/** A query shorter than this is ignored: an answer is never larger than the query that caused it. */
export const MIN_QUERY_BYTES = 96;
const MAX_DATAGRAM = 512;
/** Answers per second at most, whoever asks: a receiver is no amplifier. */
const MAX_ANSWERS_PER_SECOND = 20;
const QUERY_EVERY_MS = 250;

const Query = z.strictObject({ xfer: z.literal("discover"), v: z.number().int(), room: RoomName, pad: z.string() });
const Answer = z.strictObject({
  xfer: z.literal("here"),
  v: z.number().int(),
  room: RoomName,
  port: z.number().int().min(1).max(65535),
});

function encode(value: object): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function decode<T>(schema: z.ZodType<T>, msg: Buffer): T | null {
  if (msg.byteLength > MAX_DATAGRAM) return null;
  try {
    const parsed = schema.safeParse(JSON.parse(msg.toString("utf8")));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

function bound(socket: Socket, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(port, host, () => {
      socket.off("error", reject);
      resolve();
    });
  });
}

/** Receiver: answer queries for `room` with `port`, until closed. Resolves once listening. */
export async function answerDiscovery(opts: {
  room: string;
  port: number;
  discoveryPort?: number;
  now?: () => number;
}): Promise<{ close(): void }> {
  const now = opts.now ?? Date.now;
  // Several receivers on one machine all hear a broadcast: the port is shared.
  const socket = createSocket({ type: "udp4", reuseAddr: true });
  socket.on("error", () => {});
  let windowStart = 0;
  let answered = 0;
  socket.on("message", (msg, rinfo) => {
    if (msg.byteLength < MIN_QUERY_BYTES) return;
    const query = decode(Query, msg);
    if (!query || query.v !== DISCOVERY_VERSION || query.room !== opts.room) return;
    const t = now();
    if (t - windowStart >= 1000) [windowStart, answered] = [t, 0];
    if (++answered > MAX_ANSWERS_PER_SECOND) return;
    socket.send(
      encode({ xfer: "here", v: DISCOVERY_VERSION, room: opts.room, port: opts.port }),
      rinfo.port,
      rinfo.address,
    );
  });
  await bound(socket, opts.discoveryPort ?? DISCOVERY_PORT, "0.0.0.0");
  return { close: () => socket.close() };
}

export interface Found {
  host: string;
  port: number;
  /** From the query that was answered to its answer. */
  rttMs: number;
}

/**
 * The IPv4 broadcast address of each interface that is up and not loopback ("192.168.1.255").
 * `interfaces` as os.networkInterfaces() lists them (cidr "192.168.1.20/24").
 */
export function broadcastAddresses(
  interfaces: readonly { family: string | number; internal: boolean; cidr: string | null }[],
): string[] {
  const out = new Set<string>();
  for (const i of interfaces) {
    if (!(i.family === "IPv4" || i.family === 4) || i.internal || !i.cidr) continue;
    const [address, bits] = i.cidr.split("/");
    const octets = address!.split(".").map(Number);
    const prefix = Number(bits);
    if (octets.length !== 4 || !(prefix >= 0 && prefix <= 30)) continue;
    const n = octets.reduce((acc, o) => (acc << 8) | o, 0) >>> 0;
    const broadcast = (n | (0xffffffff >>> prefix)) >>> 0;
    out.add([24, 16, 8, 0].map((s) => (broadcast >>> s) & 0xff).join("."));
  }
  return [...out];
}

/** Sender: ask on `targets` until a receiver of `room` answers or `timeoutMs` passes (null). */
export async function discover(opts: {
  room: string;
  targets: readonly string[];
  timeoutMs: number;
  discoveryPort?: number;
  signal?: AbortSignal;
}): Promise<Found | null> {
  if (opts.targets.length === 0) return null;
  const socket = createSocket({ type: "udp4" });
  socket.on("error", () => {});
  await bound(socket, 0, "0.0.0.0");
  socket.setBroadcast(true);
  const query = encode({
    xfer: "discover",
    v: DISCOVERY_VERSION,
    room: opts.room,
    pad: "".padEnd(MIN_QUERY_BYTES, "."),
  });
  let sentAt = performance.now();
  return new Promise<Found | null>((resolve) => {
    const ask = () => {
      sentAt = performance.now();
      for (const target of opts.targets) socket.send(query, opts.discoveryPort ?? DISCOVERY_PORT, target, () => {});
    };
    const finish = (found: Found | null) => {
      clearInterval(repeat);
      clearTimeout(timer);
      socket.close();
      resolve(found);
    };
    socket.on("message", (msg, rinfo) => {
      const answer = decode(Answer, msg);
      if (answer && answer.v === DISCOVERY_VERSION && answer.room === opts.room)
        finish({ host: rinfo.address, port: answer.port, rttMs: performance.now() - sentAt });
    });
    const repeat = setInterval(ask, QUERY_EVERY_MS);
    const timer = setTimeout(() => finish(null), opts.timeoutMs);
    opts.signal?.addEventListener("abort", () => finish(null), { once: true });
    ask();
  });
}
