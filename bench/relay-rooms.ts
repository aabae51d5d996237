/**
 * How many rooms one `xfer relay` holds: N receivers join N rooms and wait, then N senders pair
 * with them (raw joins, no sessions), and the relay's resident memory is read at each step.
 *
 *   bun bench/relay-rooms.ts [pairs=2000]
 */
import { spawn } from "node:child_process";
import { connect, type Socket } from "node:net";
import { createInterface } from "node:readline";
import { encodeRelayMessage, RELAY_PROTOCOL_VERSION } from "../src/core/rendezvous/wire.ts";
import { rssMb } from "../test/helpers/tools.ts";
import { CLI } from "./lib.ts";

const pairs = Number(process.argv[2] ?? 2000);
const relay = spawn(
  process.execPath,
  [
    CLI,
    "relay",
    "--listen",
    "127.0.0.1:0",
    "--json",
    "--max-rooms",
    String(pairs + 10),
    "--per-address",
    String(2 * pairs + 10),
  ],
  { stdio: ["ignore", "pipe", "inherit"] },
);
const port = await new Promise<number>((res) =>
  createInterface({ input: relay.stdout! }).on("line", (l) => {
    const e = JSON.parse(l);
    if (e.event === "relay-listening") res(e.port);
  }),
);

/** Join `room` as `side`; resolves on the relay's first answer. */
function join(room: number, side: "send" | "recv"): Promise<Socket> {
  return new Promise((res, rej) => {
    const s = connect(port, "127.0.0.1", () =>
      s.write(encodeRelayMessage({ type: "join", relay: RELAY_PROTOCOL_VERSION, room: String(room), side })),
    );
    s.once("data", () => res(s));
    s.once("error", rej);
  });
}

const before = await rssMb(relay.pid!);
const sockets: Socket[] = [];
const t0 = performance.now();
for (let i = 0; i < pairs; i += 100)
  sockets.push(
    ...(await Promise.all(Array.from({ length: Math.min(100, pairs - i) }, (_, j) => join(i + j + 1, "recv")))),
  );
await Bun.sleep(500);
const waiting = await rssMb(relay.pid!);
for (let i = 0; i < pairs; i += 100)
  sockets.push(
    ...(await Promise.all(Array.from({ length: Math.min(100, pairs - i) }, (_, j) => join(i + j + 1, "send")))),
  );
await Bun.sleep(500);
const paired = await rssMb(relay.pid!);
console.log(
  JSON.stringify({
    pairs,
    joinSeconds: Number(((performance.now() - t0) / 1000).toFixed(2)),
    rssMb: { idle: Math.round(before), waiting: Math.round(waiting), paired: Math.round(paired) },
    kbPerPairedRoom: Math.round(((paired - before) * 1024) / pairs),
  }),
);
for (const s of sockets) s.destroy();
relay.kill("SIGINT");
process.exit(0);
