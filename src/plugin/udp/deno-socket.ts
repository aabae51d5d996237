/**
 * Deno.listenDatagram adapter (Deno with `--unstable-net`): it receives more of a fast stream than
 * Deno's node:dgram, with fewer losses, and sends faster (docs/RUNTIMES.md). The only file that
 * touches the Deno global.
 *
 * What Deno's API does and does not do (Deno 2.9), and how this adapter copes:
 * - receive(buf) silently truncates a datagram longer than `buf` (no flag, no error), and without a
 *   buffer it allocates a fresh 65,507-byte one per datagram (an IPv6 datagram can be 65,527).
 *   One reused 64 KiB buffer is larger than any UDP payload, and each datagram is copied out of it
 *   at its own length, so nothing is cut and nothing holds 64 KiB per datagram.
 * - No receive- or send-buffer size: the kernel default (208 KiB on Linux) stays.
 * - No connect(): `options.connect` is emulated (sends go to that peer, datagrams from anyone else
 *   are dropped as a connected socket's kernel would), but Linux reports ICMP port unreachable only
 *   to connected sockets, so a dial to a closed port is not told. (Deno's node:dgram only emulates
 *   connect() too, so it is not told either.) Where the OS reports it on an unconnected socket
 *   (Windows: WSAECONNRESET on receive; not tried here), it is passed on as onError.
 * - close() rejects the pending receive() ("Interrupted: operation canceled") and a second close()
 *   throws BadResource; both are absorbed here.
 * - send() copies the datagram before it returns, and rejects on errors (EMSGSIZE, closed socket).
 */
import { closeAfterSends, type RawUdpHandlers, type RawUdpOpener, type RawUdpSocket, type UdpPeer } from "./socket.ts";

/** The parts of Deno's (unstable) datagram API this adapter uses. */
interface DenoUdpAddr {
  transport: "udp";
  hostname: string;
  port: number;
}
interface DenoDatagramConn {
  receive(p?: Uint8Array): Promise<[Uint8Array, DenoUdpAddr]>;
  send(p: Uint8Array, addr: DenoUdpAddr): Promise<number>;
  close(): void;
  readonly addr: DenoUdpAddr;
}
interface DenoNet {
  listenDatagram(options: { transport: "udp"; hostname: string; port: number }): DenoDatagramConn;
}

function denoNet(): DenoNet | undefined {
  const deno = (globalThis as { Deno?: Partial<DenoNet> }).Deno;
  return typeof deno?.listenDatagram === "function" ? (deno as DenoNet) : undefined;
}

/** True under Deno run with `--unstable-net` (or `"unstable": ["net"]` in a deno.json). */
export function hasDenoDatagrams(): boolean {
  return denoNet() !== undefined;
}

/** Sends handed to Deno and not yet settled; beyond this send() reports backpressure. */
const MAX_IN_FLIGHT = 512;
/** Larger than any UDP payload (65,507 over IPv4, 65,527 over IPv6): a full buffer means cut. */
const RECEIVE_BUFFER_BYTES = 65_536;

/** Errors that mean the socket is closed: the receive loop ends quietly. */
const CLOSED = new Set(["BadResource", "Interrupted"]);
/** ICMP port unreachable, as reported on an unconnected socket by some systems (Windows). */
const UNREACHABLE = new Set(["ConnectionReset", "ConnectionRefused"]);

/** RFC 5952 form of an IP literal ("0:0::1" → "::1"), to compare addresses; IPv4 passes through. */
function canonical(address: string): string {
  if (!address.includes(":")) return address;
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address;
  }
}

export const openDenoUdp: RawUdpOpener = async (at, handlers: RawUdpHandlers, options) => {
  const net = denoNet();
  if (!net) throw new Error("Deno.listenDatagram is not available (run Deno with --unstable-net)");
  const conn = net.listenDatagram({ transport: "udp", hostname: at.host, port: at.port });
  const connected = options.connect;
  const connectedTo: DenoUdpAddr | undefined = connected && {
    transport: "udp",
    hostname: connected.address,
    port: connected.port,
  };
  const connectedHost = connected && canonical(connected.address);
  let closed = false;

  const fromConnected = (from: DenoUdpAddr): boolean =>
    connected === undefined ||
    (from.port === connected.port &&
      (from.hostname === connected.address || canonical(from.hostname) === connectedHost));

  const unreachable = (err: unknown): boolean => {
    if (!UNREACHABLE.has((err as Error)?.name)) return false;
    if (connected) handlers.onError(new Error("ICMP error from the peer (port unreachable?)", { cause: err }));
    return true;
  };

  // One receive at a time into one buffer; each datagram is copied out at its length.
  const buffer = new Uint8Array(RECEIVE_BUFFER_BYTES);
  const receiveLoop = async () => {
    while (!closed) {
      let got: [Uint8Array, DenoUdpAddr];
      try {
        got = await conn.receive(buffer);
      } catch (err) {
        if (closed || CLOSED.has((err as Error)?.name)) return;
        if (unreachable(err)) continue;
        // Anything else is reported as node:dgram would, and receiving goes on (after a pause, so
        // an error that repeats does not spin).
        handlers.onError(err instanceof Error ? err : new Error(String(err)));
        await new Promise((resolve) => setTimeout(resolve, 10));
        continue;
      }
      const [view, from] = got;
      if (closed) return;
      if (!fromConnected(from)) continue;
      handlers.onDatagram(view.slice(), { address: from.hostname, port: from.port }, view.byteLength >= buffer.length);
    }
  };
  void receiveLoop();

  let inFlight = 0;
  let blocked = false;
  let closing: { settled(): void } | null = null;
  const settled = () => {
    inFlight--;
    closing?.settled();
    if (blocked && !closed && inFlight <= MAX_IN_FLIGHT / 2) {
      blocked = false;
      handlers.onWritable();
    }
  };
  // A send that fails (too big, socket closed) is a lost datagram, as with node:dgram.
  const failed = (err: unknown) => {
    settled();
    if (!closed) unreachable(err);
  };
  let lastAddr: DenoUdpAddr | undefined;

  const raw: RawUdpSocket = {
    local: { host: conn.addr.hostname, port: conn.addr.port },
    impl: "deno",
    send(datagrams: readonly Uint8Array[], to: UdpPeer): number {
      if (closed) return 0;
      let addr = connectedTo;
      if (!addr) {
        if (lastAddr?.port !== to.port || lastAddr.hostname !== to.address)
          lastAddr = { transport: "udp", hostname: to.address, port: to.port };
        addr = lastAddr;
      }
      let sent = 0;
      for (const d of datagrams) {
        if (inFlight >= MAX_IN_FLIGHT) {
          blocked = true;
          break;
        }
        inFlight++;
        conn.send(d, addr).then(settled, failed);
        sent++;
      }
      return sent;
    },
    close() {
      if (closed) return;
      closed = true;
      closing = closeAfterSends(
        () => inFlight,
        () => {
          try {
            conn.close();
          } catch {
            // already closed
          }
        },
      );
    },
  };
  return raw;
};
