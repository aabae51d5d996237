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
  bindUdp,
  FixedRatePacer,
  formatPeer,
  isLoopback,
  resolvePeer,
  UDP_RECV_BUFFER_BYTES,
  type UdpPeer,
  type UdpPort,
  wildcardFor,
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

  async listen(at, ctx, onConnection) {
    const port = await bindUdp(at, { shared: true, recvBufferBytes: UDP_RECV_BUFFER_BYTES });
    const peers = new Map<string, RawConnection>();
    const rate = ctx.options.rateBitsPerSecond ?? DEFAULT_RATE_BITS;
    let accepting = true;
    const detach = port.attach({
      claim(data, from, truncated) {
        if (data[0] !== MAGIC) return false;
        if (truncated) return true;
        const key = `${from.address}|${from.port}`;
        let conn = peers.get(key);
        if (!conn) {
          if (!accepting) return true;
          conn = new RawConnection(port, from, formatPeer(from), rate, () => peers.delete(key));
          peers.set(key, conn);
          onConnection(conn);
        }
        conn.deliver(data);
        return true;
      },
      onWritable() {
        for (const c of peers.values()) c.onWritable();
      },
    });
    return {
      address: port.local,
      async close() {
        accepting = false;
        const stop = setInterval(() => {
          if (peers.size > 0) return;
          clearInterval(stop);
          detach();
          port.close();
        }, 100);
      },
    };
  },

  async dial(to, ctx, signal) {
    const peer = await resolvePeer(to);
    signal.throwIfAborted();
    // The sending side mostly sends: Bun's socket (sendMany) serves it best; replies are few.
    const port = await bindUdp(wildcardFor(peer), { connect: peer });
    const conn = new RawConnection(port, peer, formatPeer(peer), rateOf(ctx), () => port.close());
    port.attach({
      claim(data, from, truncated) {
        if (data[0] !== MAGIC || from.port !== peer.port) return false;
        if (!truncated) conn.deliver(data);
        return true;
      },
      onWritable: () => conn.onWritable(),
    });
    return conn;
  },
});
