/**
 * udp-reliable: a reliable, congestion-controlled byte stream over UDP alone (docs/PROTOCOL.md §2).
 * Written against the public plugin API like any outside transport; the protocol itself is the
 * pure Connection/ListenerCore pair, and this file only binds it to UDP ports.
 */
import { randomBytes } from "node:crypto";
import {
  defineTransport,
  type Endpoint,
  type StreamConnection,
  TRANSPORT_API_VERSION,
  type TransportContext,
  type UdpPath,
} from "../../src/plugin/api.ts";
import {
  dialUdpPort,
  formatPeer,
  listenUdpTransport,
  type UdpPeer,
  udpSendsFlushed,
} from "../../src/plugin/udp/index.ts";
import { Connection, type ConnectionConfig } from "./connection.ts";
import { allClosed, Driver } from "./driver.ts";
import { ListenerCore } from "./listener-core.ts";
import { configFrom, OPTIONS_SCHEMA } from "./options.ts";
import { UdpReliableStream } from "./stream.ts";
import { CID_BYTES, isOurs } from "./wire/packet.ts";

/** Connections a listener holds at once, and from one address (as the core's per-host session cap). */
const MAX_CONNECTIONS = 256;
const MAX_CONNECTIONS_PER_ADDRESS = 32;

export default defineTransport({
  name: "udp-reliable",
  description: "reliable UDP: SACK, RTT/RTO, BBR-style congestion control with pacing, flow window",
  apiVersion: TRANSPORT_API_VERSION,
  kind: "stream",
  capabilities: { udpOnly: true, rateLimit: true, udpPath: true },
  options: OPTIONS_SCHEMA,

  async listen(at, ctx, onConnection, path) {
    // Validate the options now, so a bad --transport-opt fails at listen time, not per connection.
    configFrom(ctx.options, at.host);
    const core = new ListenerCore(
      (peer) => configFrom(ctx.options, peer.address),
      MAX_CONNECTIONS,
      undefined,
      MAX_CONNECTIONS_PER_ADDRESS,
    );
    const drivers = new Map<Connection, Driver>();
    const listening = await listenUdpTransport(
      at,
      {
        owns: isOurs,
        receive(data, from) {
          const { port } = listening;
          const routed = core.receive(data, from, performance.now());
          for (const r of routed.replies) port.send([r.bytes], r.to);
          const conn = routed.conn;
          if (!conn) return;
          let driver = drivers.get(conn);
          if (!driver && routed.created) {
            const peer = core.peerOf(conn) as UdpPeer;
            const stream = new UdpReliableStream(conn, formatPeer(peer), ctx, () => {
              drivers.delete(conn);
              core.remove(conn, performance.now());
              listening.released();
            });
            driver = new Driver(
              conn,
              port,
              () => core.peerOf(conn) ?? peer,
              () => stream.onStep(),
            );
            stream.attach(driver);
            drivers.set(conn, driver);
            onConnection(stream);
          }
          driver?.received();
        },
        onWritable() {
          for (const d of drivers.values()) d.onWritable();
        },
        live: () => drivers.size,
        // Refuse new dials at once; established connections keep the socket until their sessions end.
        stopAccepting: () => core.stopAccepting(),
      },
      path,
    );
    return listening.listener;
  },

  async dial(to: Endpoint, ctx: TransportContext, signal: AbortSignal, path?: UdpPath): Promise<StreamConnection> {
    const { peer, port, attach } = await dialUdpPort(to, signal, path);
    let config: ConnectionConfig;
    try {
      config = configFrom(ctx.options, peer.address);
    } catch (err) {
      port.close();
      throw err;
    }
    if (path?.rttHintMs !== undefined && Number.isFinite(path.rttHintMs) && path.rttHintMs >= 0)
      config = { ...config, rttHintMs: path.rttHintMs };
    const conn = new Connection("client", randomBytes(CID_BYTES), new Uint8Array(CID_BYTES), config, performance.now());
    const stream = new UdpReliableStream(conn, formatPeer(peer), ctx, () => port.close());
    let settle: (() => void) | undefined;
    const driver = new Driver(
      conn,
      port,
      () => peer,
      () => {
        stream.onStep();
        if (conn.state !== "syn-sent" && conn.state !== "echo-sent") settle?.();
      },
    );
    stream.attach(driver);
    attach({
      owns: isOurs,
      receive(data) {
        conn.receiveDatagram(data, performance.now());
        driver.received();
      },
      onWritable: () => driver.onWritable(),
      onError: () => {
        conn.unreachable(`nothing is listening on UDP ${formatPeer(peer)} (port unreachable)`);
        driver.kick();
      },
    });
    const onAbort = () => stream.destroy(new Error("dial aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      await new Promise<void>((resolve) => {
        settle = resolve;
        driver.step();
      });
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
    if (conn.state !== "established") {
      driver.stop();
      port.close();
      if (signal.aborted) throw new Error("dial aborted");
      throw new Error(
        conn.error?.kind === "handshake-timeout"
          ? `no udp-reliable listener answered at ${formatPeer(peer)} within ${config.handshakeTimeoutMs / 1000} s (UDP)`
          : (conn.error?.message ?? "connection failed"),
      );
    }
    return stream;
  },

  /** Lets ended connections finish their close (FIN ACKs, linger), and their last datagrams leave. */
  settle: async () => {
    await allClosed();
    await udpSendsFlushed();
  },
});
