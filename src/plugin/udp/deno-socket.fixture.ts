/**
 * Run under Deno by deno-socket.test.ts (`deno run -A [--unstable-net] deno-socket.fixture.ts`): exercises
 * the Deno.listenDatagram adapter on loopback and prints what it saw as one JSON line.
 */
import process from "node:process";
import { openDenoUdp } from "./deno-socket.ts";
import { bindUdp } from "./port.ts";
import type { RawUdpHandlers, RawUdpSocket, UdpPeer } from "./socket.ts";

interface Got {
  data: Uint8Array;
  from: UdpPeer;
  truncated: boolean;
}

const unhandled: string[] = [];
process.on("unhandledRejection", (err) => unhandled.push(String(err)));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function open(host: string, connect?: UdpPeer) {
  const got: Got[] = [];
  const state = { writable: 0, errors: [] as string[] };
  const handlers: RawUdpHandlers = {
    onDatagram: (data, from, truncated) => got.push({ data, from, truncated }),
    onWritable: () => state.writable++,
    onError: (err) => state.errors.push(err.message),
  };
  const socket: RawUdpSocket = await openDenoUdp({ host, port: 0 }, handlers, connect ? { connect } : {});
  return { socket, got, state };
}

async function until(cond: () => boolean, ms = 2000): Promise<boolean> {
  for (const end = Date.now() + ms; !cond() && Date.now() < end; ) await sleep(5);
  return cond();
}

const fill = (n: number, v: number) => new Uint8Array(n).fill(v);
const whole = (g: Got | undefined, n: number, v: number) =>
  g !== undefined && g.data.byteLength === n && g.data.every((b) => b === v) && !g.truncated;

async function roundTrip(host: string, sizes: number[]) {
  const a = await open(host);
  const b = await open(host);
  const to = (s: RawUdpSocket) => ({ address: host, port: s.local.port });
  const results: boolean[] = [];
  for (const [i, n] of sizes.entries()) {
    const sent = a.socket.send([fill(n, i + 1)], to(b.socket));
    await until(() => b.got.length > i);
    const g = b.got[i];
    results.push(sent === 1 && whole(g, n, i + 1) && g?.from.port === a.socket.local.port);
    // Reply to where it came from.
    if (g) b.socket.send([fill(n, 100 + i)], g.from);
    await until(() => a.got.length > i);
    results.push(whole(a.got[i], n, 100 + i));
  }
  // Each datagram is the receiver's to keep: later ones do not overwrite it.
  const firstStillWhole = whole(b.got[0], sizes[0] as number, 1);
  a.socket.close();
  b.socket.close();
  return { results, firstStillWhole, local: a.socket.local.host };
}

async function connected() {
  const server = await open("127.0.0.1");
  const stranger = await open("127.0.0.1");
  const peer = { address: "127.0.0.1", port: server.socket.local.port };
  const client = await open("0.0.0.0", peer);
  const clientAt = { address: "127.0.0.1", port: client.socket.local.port };
  // `to` is ignored: a connected socket sends to its peer.
  client.socket.send([fill(10, 1)], { address: "127.0.0.1", port: stranger.socket.local.port });
  await until(() => server.got.length === 1);
  stranger.socket.send([fill(10, 2)], clientAt);
  server.socket.send([fill(10, 3)], clientAt);
  await until(() => client.got.length >= 1);
  await sleep(50);
  const out = {
    sentToPeer: server.got.length === 1 && stranger.got.length === 0,
    onlyFromPeer: client.got.length === 1 && client.got[0]?.data[0] === 3,
  };
  for (const s of [server, stranger, client]) s.socket.close();
  return out;
}

async function backpressure() {
  const a = await open("127.0.0.1");
  const b = await open("127.0.0.1");
  const to = { address: "127.0.0.1", port: b.socket.local.port };
  const total = 2000;
  const batch = Array.from({ length: total }, () => fill(32, 7));
  const firstTaken = a.socket.send(batch, to);
  let taken = firstTaken;
  let stalls = 0;
  while (taken < total) {
    const before = a.state.writable;
    if (!(await until(() => a.state.writable > before))) break;
    stalls++;
    taken += a.socket.send(batch.slice(taken), to);
  }
  await until(() => b.got.length > 0);
  const out = { firstTaken, taken, total, stalls, writable: a.state.writable, arrived: b.got.length > 0 };
  a.socket.close();
  b.socket.close();
  return out;
}

async function closing() {
  const a = await open("127.0.0.1");
  const to = { address: "127.0.0.1", port: a.socket.local.port };
  a.socket.send([fill(8, 1), fill(8, 2)], to);
  a.socket.close(); // with a receive pending and sends in flight
  a.socket.close();
  const afterClose = a.socket.send([fill(8, 3)], to);
  await sleep(50);
  return { afterClose, errors: a.state.errors };
}

async function implOf(): Promise<string> {
  const port = await bindUdp({ host: "127.0.0.1", port: 0 });
  port.close();
  return port.impl;
}

export interface FixtureResult {
  picked: string;
  forcedNode: string;
  v4?: Awaited<ReturnType<typeof roundTrip>>;
  v6?: Awaited<ReturnType<typeof roundTrip>> | { skipped: string };
  connected?: Awaited<ReturnType<typeof connected>>;
  backpressure?: Awaited<ReturnType<typeof backpressure>>;
  closing?: Awaited<ReturnType<typeof closing>>;
  refused?: string;
  unhandled: string[];
}

const picked = await implOf();
process.env.XFER_UDP_IMPL = "node";
const result: FixtureResult = { picked, forcedNode: await implOf(), unhandled };
delete process.env.XFER_UDP_IMPL;
if (picked === "deno") {
  result.v4 = await roundTrip("127.0.0.1", [1, 1200, 65_507]);
  // 65,527 bytes: the largest IPv6 UDP payload, larger than Deno's default receive buffer (65,507).
  result.v6 = await roundTrip("::1", [1200, 65_527]).catch((err: Error) => ({ skipped: err.message }));
  result.connected = await connected();
  result.backpressure = await backpressure();
  result.closing = await closing();
} else {
  result.refused = await openDenoUdp({ host: "127.0.0.1", port: 0 }, {} as RawUdpHandlers, {}).then(
    () => "opened",
    (err: Error) => err.message,
  );
}
console.log(JSON.stringify(result));
