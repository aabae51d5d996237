/**
 * udp-raw: datagrams sent once, never acknowledged or retransmitted (docs/PROTOCOL.md §3). The core's
 * datagram session makes every datagram self-placing and reports exactly what was lost; this
 * transport only frames, paces and routes. Each datagram starts with 0x52 ('R') so the port can be
 * shared with udp-reliable (0x55).
 */
import { z } from "zod";
import {
  AsyncQueue,
  type DatagramConnection,
  defineTransport,
  TRANSPORT_API_VERSION,
  type TransportContext,
} from "../../src/plugin/api.ts";
import {
  dialUdpPort,
  FixedRatePacer,
  formatPeer,
  isLoopback,
  listenUdpTransport,
  type UdpPeer,
  type UdpPort,
  udpSendsFlushed,
} from "../../src/plugin/udp/index.ts";

const MAGIC = 0x52;
/** Raw UDP has no congestion control: without --rate it must not flood a network by surprise. */
export const DEFAULT_RATE_BITS = 100e6;
/** Bytes per paced send (one sendMany): 16 Ethernet-sized datagrams, or one or two loopback ones. */
const PACE_BATCH_BYTES = 16 * 1500;
/** 1500-byte MTU minus IP and UDP headers, minus our magic byte. */
const MAX_PAYLOAD_V4 = 1472 - 1;
const MAX_PAYLOAD_V6 = 1452 - 1;
/**
 * On loopback (MTU 64 KiB, no fragmentation) the receiver's per-datagram CPU cost is the limit:
 * 16 KiB datagrams carry 11× the bytes per receive event. The offer tells the receiver the size.
 */
export const LOOPBACK_PAYLOAD = 16384 - 1;

class RawConnection implements DatagramConnection {
  /** Bounded: a session this far behind (its disk) loses datagrams here, as a full socket buffer would. */
  readonly datagrams = new AsyncQueue<Uint8Array>({ maxItems: 65_536 });
  readonly maxDatagramSize: number;
  private readonly pacer: FixedRatePacer;
  private readonly paceBatch: number;
  private closed = false;
  private writable: (() => void) | null = null;

  constructor(
    private readonly port: UdpPort,
    private readonly peer: UdpPeer,
    readonly remote: string,
    rateBits: number,
    private readonly onClose: () => void,
  ) {
    this.maxDatagramSize = isLoopback(peer.address)
      ? LOOPBACK_PAYLOAD
      : peer.address.includes(":")
        ? MAX_PAYLOAD_V6
        : MAX_PAYLOAD_V4;
    this.paceBatch = Math.max(1, Math.floor(PACE_BATCH_BYTES / this.maxDatagramSize));
    this.pacer = new FixedRatePacer(rateBits / 8, this.paceBatch * (this.maxDatagramSize + 1 + 28));
  }

  async send(datagrams: readonly Uint8Array[]): Promise<void> {
    for (const d of datagrams)
      if (d.byteLength > this.maxDatagramSize)
        throw new Error(`datagram of ${d.byteLength} bytes exceeds ${this.maxDatagramSize}`);
    const framed = datagrams.map((d) => {
      const out = new Uint8Array(d.byteLength + 1);
      out[0] = MAGIC;
      out.set(d, 1);
      return out;
    });
    let at = 0;
    while (at < framed.length && !this.closed) {
      // Small batches (one sendMany each) keep the pacing smooth; bytes count as on the wire (+IP/UDP).
      const batch = framed.slice(at, at + this.paceBatch);
      await this.pacer.take(batch.reduce((n, d) => n + d.byteLength + 28, 0));
      let sent = 0;
      while (sent < batch.length && !this.closed) {
        const n = this.port.send(sent === 0 ? batch : batch.slice(sent), this.peer);
        if (n === 0) await new Promise<void>((r) => (this.writable = r));
        sent += n;
      }
      at += batch.length;
    }
  }

  deliver(d: Uint8Array): void {
    this.datagrams.push(d.subarray(1));
  }

  onWritable(): void {
    const w = this.writable;
    this.writable = null;
    w?.();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.datagrams.end();
    this.onWritable();
    this.onClose();
  }
}

function rateOf(ctx: TransportContext): number {
  const rate = ctx.options.rateBitsPerSecond;
  if (rate) return rate;
  ctx.log.warn(
    `sending at ${DEFAULT_RATE_BITS / 1e6} Mbit/s: raw UDP has no congestion control, so set --rate for your link`,
  );
  return DEFAULT_RATE_BITS;
}

export default defineTransport({
  name: "udp-raw",
  description: "raw UDP: datagrams sent once at --rate, with an exact loss report (no retransmission)",
  apiVersion: TRANSPORT_API_VERSION,
  kind: "datagram",
  capabilities: { udpOnly: true, rateLimit: true },
  // No --transport-opt settings: --rate and --fec are its knobs.
  options: z.strictObject({}),
  /** A last answer (a reject, the loss report) queued just before its socket closed still leaves. */
  settle: udpSendsFlushed,

  async listen(at, ctx, onConnection) {
    const peers = new Map<string, RawConnection>();
    const rate = ctx.options.rateBitsPerSecond ?? DEFAULT_RATE_BITS;
    const listening = await listenUdpTransport(at, {
      owns: (data) => data[0] === MAGIC,
      receive(data, from) {
        const key = `${from.address}|${from.port}`;
        let conn = peers.get(key);
        if (!conn) {
          if (listening.closing) return;
          conn = new RawConnection(listening.port, from, formatPeer(from), rate, () => {
            peers.delete(key);
            listening.released();
          });
          peers.set(key, conn);
          onConnection(conn);
        }
        conn.deliver(data);
      },
      onWritable() {
        for (const c of peers.values()) c.onWritable();
      },
      live: () => peers.size,
    });
    return listening.listener;
  },

  async dial(to, ctx, signal) {
    const { peer, port, attach } = await dialUdpPort(to, signal);
    const conn = new RawConnection(port, peer, formatPeer(peer), rateOf(ctx), () => port.close());
    attach({
      owns: (data) => data[0] === MAGIC,
      receive: (data) => conn.deliver(data),
      onWritable: () => conn.onWritable(),
    });
    return conn;
  },
});
