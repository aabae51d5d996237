/**
 * A virtual-time network for udp-reliable's pure core: N client connections send to one listener
 * through a shared bottleneck (one Link each way), with no sockets and no real clock. Used by the
 * unit tests (thousands of seeded transfers) and by bench/sim.ts (1–10 Gbit/s, long RTTs, several
 * competing flows) alike.
 */
import { Connection, type ConnectionConfig, DEFAULT_CONFIG } from "../plugins/udp-reliable/connection.ts";
import { ListenerCore, type Peer } from "../plugins/udp-reliable/listener-core.ts";
import { CID_BYTES } from "../plugins/udp-reliable/wire/packet.ts";
import { EventQueue, type Timed } from "./event-queue.ts";
import { Link, type LinkSpec } from "./link.ts";
import { seededRandom } from "./rng.ts";

export interface FlowSpec {
  bytes: number;
  /** When the flow starts (ms of virtual time). */
  startMs?: number;
  /** Receiver application read rate (bytes/s): a slow disk. Unlimited when absent. */
  readRateBytesPerSec?: number;
}

export interface SimSpec {
  seed: number;
  forward: LinkSpec;
  backward: LinkSpec;
  flows: FlowSpec[];
  config?: Partial<ConnectionConfig>;
  /** Check every byte against the pattern (off for long benchmark runs). */
  verify?: boolean;
  /** Give up at this virtual time (ms). */
  limitMs: number;
  /** Extra hostile datagrams injected at the listener: (time, bytes, from) tuples. */
  inject?: { at: number; bytes: Uint8Array; from: Peer }[];
  /** Record every flow's progress this often (ms of virtual time), for benchmarks. */
  sampleEveryMs?: number;
  /** With sampleEveryMs: keep the sender's whole `stats()` in each sample too (for tracing). */
  sampleStats?: boolean;
  /** Forged datagrams delivered straight to a client: (time, flow, bytes). */
  toClient?: { at: number; flow: number; bytes: Uint8Array }[];
  /**
   * An on-path meddler between clients and listener: each client datagram also arrives as a
   * truncated copy with probability `truncate`, and again seconds later (a replay) with `replay`.
   */
  tamper?: { truncate?: number; replay?: number };
}

export interface FlowResult {
  completed: boolean;
  /** Every received byte matched what was sent, in order. */
  intact: boolean;
  received: number;
  startMs: number;
  doneMs: number;
  clientError: string | null;
  serverError: string | null;
  clientState: string;
  serverState: string;
  clientStats: Record<string, number | string>;
  serverStats: Record<string, number | string>;
  /** When each side reached CLOSED (virtual ms; -1: never). */
  closedMs: { client: number; server: number };
  /** Highest bytes held by the receiver out of order (memory bound check). */
  maxReceiverHeld: number;
  /** With sampleEveryMs: bytes read by the receiver and the sender's smoothed RTT over time. */
  samples: { t: number; received: number; srttMs: number; stats?: Record<string, number | string> }[];
}

export interface SimResult {
  flows: FlowResult[];
  endMs: number;
  events: number;
  forward: Link["counters"];
  backward: Link["counters"];
  listener: ListenerCore["counters"];
  /** Connections the listener created (a replayed ECHO can add one; junk must never). */
  serverConnections: number;
}

type Ev =
  | (Timed & { kind: "to-server"; bytes: Uint8Array; from: Peer })
  | (Timed & { kind: "to-client"; flow: number; bytes: Uint8Array })
  | (Timed & { kind: "wake"; flow: number; side: "client" | "server" })
  | (Timed & { kind: "start"; flow: number })
  | (Timed & { kind: "sample" });

const CHUNK = 64 * 1024;

/** Byte i of every flow's stream: position-dependent, so misplaced or stale bytes are caught. */
export function patternByte(i: number): number {
  return (Math.imul(i, 2654435761) >>> 24) & 0xff;
}

interface FlowState {
  spec: FlowSpec;
  closedMs: FlowResult["closedMs"];
  peer: Peer;
  client?: Connection;
  server?: Connection;
  written: number;
  received: number;
  intact: boolean;
  startMs: number;
  doneMs: number;
  wakeAt: { client: number; server: number };
  readBudget: number;
  readStamp: number;
  maxHeld: number;
  samples: FlowResult["samples"];
}

export function simulate(spec: SimSpec): SimResult {
  const random = seededRandom(spec.seed);
  const config: ConnectionConfig = { ...DEFAULT_CONFIG, random, ...spec.config };
  const forward = new Link(spec.forward, random);
  const backward = new Link(spec.backward, random);
  const cidRandom = () => {
    const b = new Uint8Array(CID_BYTES);
    for (let i = 0; i < CID_BYTES; i++) b[i] = Math.floor(random() * 256);
    return b;
  };
  const listener = new ListenerCore(() => config, 64, cidRandom);
  const queue = new EventQueue<Ev>();
  const flows: FlowState[] = spec.flows.map((f, i) => ({
    spec: f,
    peer: { address: `10.0.0.${i + 1}`, port: 40000 + i },
    written: 0,
    received: 0,
    intact: true,
    startMs: f.startMs ?? 0,
    doneMs: -1,
    wakeAt: { client: Number.POSITIVE_INFINITY, server: Number.POSITIVE_INFINITY },
    closedMs: { client: -1, server: -1 },
    readBudget: 0,
    readStamp: 0,
    maxHeld: 0,
    samples: [],
  }));
  const byServerConn = new Map<Connection, number>();
  const serverConns = new Set<Connection>();
  const verify = spec.verify ?? true;
  const chunk = new Uint8Array(CHUNK);
  let now = 0;
  let events = 0;

  for (const [i, f] of flows.entries()) queue.push({ time: f.startMs, kind: "start", flow: i });
  if (spec.sampleEveryMs) queue.push({ time: spec.sampleEveryMs, kind: "sample" });
  for (const inj of spec.inject ?? [])
    queue.push({ time: inj.at, kind: "to-server", bytes: inj.bytes, from: inj.from });
  for (const f of spec.toClient ?? []) queue.push({ time: f.at, kind: "to-client", flow: f.flow, bytes: f.bytes });

  const fill = (offset: number, n: number): Uint8Array => {
    const out = chunk.subarray(0, n);
    if (verify) for (let i = 0; i < n; i++) out[i] = patternByte(offset + i);
    return out;
  };

  const step = (i: number, side: "client" | "server") => {
    const f = flows[i] as FlowState;
    const conn = side === "client" ? f.client : f.server;
    if (!conn) return;
    conn.tick(now);
    if (side === "client") {
      while (f.written < f.spec.bytes && conn.writable > 0 && conn.state !== "closed") {
        const n = Math.min(CHUNK, f.spec.bytes - f.written, conn.writable);
        conn.write(fill(f.written, n));
        f.written += n;
        if (f.written === f.spec.bytes) conn.end();
      }
      if (f.spec.bytes === 0 && f.written === 0) conn.end();
    } else readServer(f, conn);
    const out = conn.poll(now);
    const link = side === "client" ? forward : backward;
    for (const d of out) {
      if (side === "client") meddle(d, f.peer);
      for (const a of link.offer(d, now)) {
        if (side === "client") queue.push({ time: a.at, kind: "to-server", bytes: a.bytes, from: f.peer });
        else queue.push({ time: a.at, kind: "to-client", flow: i, bytes: a.bytes });
      }
    }
    let wake = conn.deadline();
    if (side === "server" && f.spec.readRateBytesPerSec && conn.state !== "closed") wake = Math.min(wake, now + 1);
    if (wake < f.wakeAt[side] || f.wakeAt[side] <= now) {
      f.wakeAt[side] = wake;
      if (Number.isFinite(wake)) queue.push({ time: Math.max(wake, now), kind: "wake", flow: i, side });
    }
    if (f.doneMs < 0 && f.client?.delivered && f.server?.readEnded) f.doneMs = now;
    if (conn.state === "closed" && f.closedMs[side] < 0) f.closedMs[side] = now;
  };

  const meddle = (d: Uint8Array, from: Peer) => {
    const t = spec.tamper;
    if (!t) return;
    if (t.truncate && random() < t.truncate)
      queue.push({ time: now + 1, kind: "to-server", bytes: d.subarray(0, Math.floor(random() * d.byteLength)), from });
    if (t.replay && random() < t.replay)
      queue.push({ time: now + 1000 + random() * 5000, kind: "to-server", bytes: d, from });
  };

  const readServer = (f: FlowState, conn: Connection) => {
    const rate = f.spec.readRateBytesPerSec;
    if (rate) {
      f.readBudget = Math.min(rate / 10, f.readBudget + ((now - f.readStamp) * rate) / 1000);
      f.readStamp = now;
    }
    for (;;) {
      if (rate && f.readBudget <= 0) break;
      const data = conn.read();
      if (!data) break;
      if (rate) f.readBudget -= data.byteLength;
      if (verify && f.intact)
        for (let k = 0; k < data.byteLength; k++)
          if (data[k] !== patternByte(f.received + k)) {
            f.intact = false;
            break;
          }
      f.received += data.byteLength;
    }
    // The receiving application has nothing to say back: it ends its direction once it read everything.
    if (conn.readEnded) conn.end();
    conn.checkClose(now);
    f.maxHeld = Math.max(f.maxHeld, conn.heldBytes);
  };

  while (queue.size) {
    const ev = queue.pop() as Ev;
    if (ev.time > spec.limitMs) break;
    now = ev.time;
    events++;
    switch (ev.kind) {
      case "start": {
        const f = flows[ev.flow] as FlowState;
        f.client = new Connection("client", cidRandom(), new Uint8Array(CID_BYTES), config, now);
        step(ev.flow, "client");
        break;
      }
      case "to-client": {
        const f = flows[ev.flow] as FlowState;
        f.client?.receiveDatagram(ev.bytes, now);
        step(ev.flow, "client");
        break;
      }
      case "to-server": {
        const routed = listener.receive(ev.bytes, ev.from, now);
        for (const r of routed.replies) {
          const i = flows.findIndex((f) => f.peer.address === r.to.address && f.peer.port === r.to.port);
          if (i < 0) continue;
          for (const a of backward.offer(r.bytes, now))
            queue.push({ time: a.at, kind: "to-client", flow: i, bytes: a.bytes });
        }
        if (routed.conn) {
          serverConns.add(routed.conn);
          let i = byServerConn.get(routed.conn);
          if (i === undefined) {
            i = flows.findIndex((f) => f.peer.address === ev.from.address && f.peer.port === ev.from.port);
            // A connection nobody drives (a replayed ECHO after the real one closed): the listener
            // would idle it out; here it is dropped at once and only counted.
            if (i < 0 || (flows[i] as FlowState).server) {
              listener.remove(routed.conn, now);
              break;
            }
            byServerConn.set(routed.conn, i);
            (flows[i] as FlowState).server = routed.conn;
          }
          step(i, "server");
        }
        break;
      }
      case "sample": {
        for (const f of flows) {
          const stats = f.client?.stats() ?? {};
          const sample = { t: now, received: f.received, srttMs: Number(stats.rttMs ?? 0) };
          f.samples.push(spec.sampleStats ? { ...sample, stats } : sample);
        }
        queue.push({ time: now + (spec.sampleEveryMs as number), kind: "sample" });
        break;
      }
      case "wake": {
        const f = flows[ev.flow] as FlowState;
        if (ev.time !== f.wakeAt[ev.side]) break;
        f.wakeAt[ev.side] = Number.POSITIVE_INFINITY;
        step(ev.flow, ev.side);
        const conn = ev.side === "server" ? f.server : undefined;
        if (conn?.state === "closed") listener.remove(conn, now);
        break;
      }
    }
    if (flows.every((f) => f.client?.state === "closed" && (!f.server || f.server.state === "closed"))) break;
  }

  return {
    flows: flows.map((f) => ({
      completed: f.doneMs >= 0 && f.received === f.spec.bytes,
      intact: f.intact,
      received: f.received,
      startMs: f.startMs,
      doneMs: f.doneMs,
      clientError: f.client?.error?.message ?? null,
      serverError: f.server?.error?.message ?? null,
      clientState: f.client?.state ?? "none",
      serverState: f.server?.state ?? "none",
      clientStats: f.client?.stats() ?? {},
      serverStats: f.server?.stats() ?? {},
      closedMs: f.closedMs,
      maxReceiverHeld: f.maxHeld,
      samples: f.samples,
    })),
    endMs: now,
    events,
    forward: forward.counters,
    backward: backward.counters,
    listener: listener.counters,
    serverConnections: serverConns.size,
  };
}
