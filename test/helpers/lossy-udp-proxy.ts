/**
 * A userspace lossy UDP proxy on 127.0.0.1 for end-to-end tests: datagrams between a client and a
 * target are dropped, duplicated, reordered or delayed per direction, from a seeded PRNG, so the
 * real CLI can be tested against a bad network without netem. Each client address gets its own
 * upstream socket, as a NAT would.
 */
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { seededRandom } from "../../sim/rng.ts";

export interface Impairment {
  loss?: number;
  duplicate?: number;
  reorder?: number;
  /** Fixed extra delay (ms); reordered datagrams get `reorderDelayMs` more. */
  delayMs?: number;
  reorderDelayMs?: number;
  /**
   * Impair only udp-raw data datagrams, letting control through. Sessions are sealed, so kinds are
   * not visible on the wire: full-size datagrams (≥ 1000 bytes) are data, control ones are small.
   */
  dataOnly?: boolean;
  /** Drop exactly every n-th impaired datagram (a known pattern) instead of by chance. */
  dropEvery?: number;
  /** Flip one bit (the last byte's lowest) of the n-th impaired datagram: a tampering path. */
  flipBitOf?: number;
}

export interface ProxyCounters {
  /** Datagrams subject to impairment. */
  seen: number;
  forwarded: number;
  dropped: number;
  duplicated: number;
  reordered: number;
}

export interface LossyProxy {
  port: number;
  toTarget: ProxyCounters;
  toClient: ProxyCounters;
  /** Drop everything in both directions while true (a blackout). */
  blackout: boolean;
  close(): void;
}

export async function startLossyProxy(
  targetPort: number,
  opts: { seed: number; toTarget?: Impairment; toClient?: Impairment },
): Promise<LossyProxy> {
  const random = seededRandom(opts.seed);
  const front = createSocket("udp4");
  await new Promise<void>((r) => front.bind(0, "127.0.0.1", r));
  const upstreams = new Map<string, Socket>();
  const counters = () => ({ seen: 0, forwarded: 0, dropped: 0, duplicated: 0, reordered: 0 });
  const proxy: LossyProxy = {
    port: front.address().port,
    toTarget: counters(),
    toClient: counters(),
    blackout: false,
    close() {
      front.close();
      for (const s of upstreams.values()) s.close();
    },
  };

  const forward = (msg: Buffer, imp: Impairment | undefined, c: ProxyCounters, send: (m: Buffer) => void) => {
    if (imp?.dataOnly && !(msg[0] === 0x52 && msg.byteLength >= 1000)) {
      c.forwarded++;
      send(msg);
      return;
    }
    c.seen++;
    const nth = imp?.dropEvery ? c.seen % imp.dropEvery === 0 : false;
    if (imp?.flipBitOf === c.seen) {
      msg = Buffer.from(msg);
      msg[msg.byteLength - 1] = (msg[msg.byteLength - 1] as number) ^ 1;
    }
    if (proxy.blackout || nth || (imp?.loss && random() < imp.loss)) {
      c.dropped++;
      return;
    }
    let delay = imp?.delayMs ?? 0;
    if (imp?.reorder && random() < imp.reorder) {
      delay += imp.reorderDelayMs ?? 5;
      c.reordered++;
    }
    const copies = imp?.duplicate && random() < imp.duplicate ? 2 : 1;
    if (copies === 2) c.duplicated++;
    for (let i = 0; i < copies; i++) {
      c.forwarded++;
      if (delay > 0) setTimeout(() => send(msg), delay);
      else send(msg);
    }
  };

  front.on("message", (msg: Buffer, from: RemoteInfo) => {
    const key = `${from.address}:${from.port}`;
    let up = upstreams.get(key);
    if (!up) {
      const socket = createSocket("udp4");
      socket.bind(0, "127.0.0.1");
      socket.on("message", (back: Buffer) =>
        forward(back, opts.toClient, proxy.toClient, (m) => front.send(m, from.port, from.address, ignore)),
      );
      socket.on("error", ignore);
      upstreams.set(key, socket);
      up = socket;
    }
    const upstream = up;
    forward(msg, opts.toTarget, proxy.toTarget, (m) => upstream.send(m, targetPort, "127.0.0.1", ignore));
  });
  front.on("error", ignore);
  return proxy;
}

function ignore(): void {}
