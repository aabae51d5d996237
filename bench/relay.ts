/**
 * Relayed (--relay-only) against direct tcp-stream through the same path, alternating rounds; the
 * relay's CPU per GB piped; and the time from starting `xfer send --code …` (the code typed) to the
 * receiver's first file, relayed and when the meeting finds a direct path (the default).
 *
 *   bun bench/relay.ts [--size 200] [--rounds 3] [--where netns|loopback] [--rate 200mbit|none]
 *
 * netns (root): the receiver and the relay sit in an "internet" namespace, the sender in a home behind
 * a NAT router whose uplink is shaped with tbf at --rate both ways: direct and relayed bytes cross that
 * one link once, so the ratio is the relay's cost on a real path. loopback: everything on 127.0.0.1,
 * where the relay's copies compete for the same two CPUs (its worst case).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { buildNetLab, type NetLab, shapeLink } from "../test/helpers/netns.ts";
import { BENCH_CODE, CLI, exitOf, median, randomFile } from "./lib.ts";

const { values } = parseArgs({
  options: {
    size: { type: "string", default: "200" },
    rounds: { type: "string", default: "3" },
    where: { type: "string", default: "netns" },
    rate: { type: "string", default: "200mbit" },
    // The relay's sockets: Bun's own (default on Bun) or node:net (what Deno uses).
    "relay-sockets": { type: "string", default: "bun" },
  },
});
const bytes = Number(values.size) * 1e6;
const rounds = Number(values.rounds);
const netns = values.where === "netns";
const work = await mkdtemp(join(tmpdir(), "xfer-bench-relay-"));
const src = join(work, "src.bin");
await randomFile(src, bytes);

let lab: NetLab | null = null;
if (netns) {
  lab = buildNetLab(`xb${process.pid % 10000}`, 1);
  if (values.rate !== "none") {
    const home = lab.homes[0]!;
    const router = home.host.replace(/-h1$/, "-r1");
    for (const [ns, dev] of [
      [router, "wan"],
      [lab.internet, "to-r1"],
    ] as const)
      shapeLink(ns, dev, values.rate!);
  }
}
const cleanup = () => lab?.destroy();
process.on("exit", cleanup);

const inNs = (ns: string | null) => (ns && lab ? lab.exec(ns) : []);
function xferIn(ns: string | null, args: string[], extraEnv: Record<string, string> = {}): ChildProcess {
  const argv = [...inNs(ns), process.execPath, CLI, ...args];
  return spawn(argv[0]!, argv.slice(1), {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, XFER_CODE: BENCH_CODE, ...extraEnv },
  });
}
function events(proc: ChildProcess, on: (e: Record<string, unknown>) => void): void {
  createInterface({ input: proc.stdout! }).on("line", (line) => on(JSON.parse(line)));
}
const serverNs = lab?.internet ?? null;
const clientNs = lab?.homes[0]?.host ?? null;
const serverAddress = lab ? lab.relayAddress : "127.0.0.1";

/** utime + stime of a process, in seconds (Linux /proc, 100 ticks a second). */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const relay = xferIn(
  serverNs,
  ["relay", "--listen", "0.0.0.0:7879", "--json"],
  values["relay-sockets"] === "node" ? { XFER_TCP_PORTABLE: "1" } : {},
);
const relayRooms: Record<string, unknown>[] = [];
await new Promise<void>((res) =>
  events(relay, (e) => {
    if (e.event === "relay-listening") res();
    if (e.event === "relay-room" && e.outcome === "closed") relayRooms.push(e);
  }),
);

async function direct(): Promise<number> {
  const dest = join(work, "out-direct");
  await rm(dest, { recursive: true, force: true });
  const recv = xferIn(serverNs, ["recv", dest, "--listen", "0.0.0.0:7878", "--once", "--json"]);
  await new Promise<void>((res) => events(recv, (e) => e.event === "listening" && res()));
  spawnSync("sync");
  const t0 = performance.now();
  const send = xferIn(clientNs, ["send", "--json", src, `${serverAddress}:7878`]);
  send.stdout!.resume();
  const [s, r] = await Promise.all([exitOf(send), exitOf(recv)]);
  const seconds = (performance.now() - t0) / 1000;
  if (s !== 0 || r !== 0 || (await stat(join(dest, "src.bin"))).size !== bytes)
    throw new Error(`direct failed ${s}/${r}`);
  return bytes / seconds / 1e6;
}

async function relayed(only = true): Promise<{ mbps: number; cpuPerGb: number; firstFileMs: number; path: string }> {
  const dest = join(work, "out-relayed");
  await rm(dest, { recursive: true, force: true });
  const flag = only ? ["--relay-only"] : [];
  const recv = xferIn(serverNs, ["recv", dest, "--relay", "127.0.0.1:7879", "--json", ...flag]);
  let firstFile = 0;
  let path = "?";
  await new Promise<void>((res) =>
    events(recv, (e) => {
      if (e.event === "rendezvous") res();
      if (e.event === "path") path = e.path as string;
      if (e.event === "file-start" && firstFile === 0) firstFile = performance.now();
    }),
  );
  spawnSync("sync");
  const cpu0 = await cpuSeconds(relay.pid!);
  const before = relayRooms.length;
  const t0 = performance.now();
  const send = xferIn(clientNs, ["send", "--json", ...flag, "--relay", `${serverAddress}:7879`, src]);
  send.stdout!.resume();
  const [s, r] = await Promise.all([exitOf(send), exitOf(recv)]);
  const seconds = (performance.now() - t0) / 1000;
  if (s !== 0 || r !== 0 || (await stat(join(dest, "src.bin"))).size !== bytes)
    throw new Error(`relayed failed ${s}/${r}`);
  while (relayRooms.length === before) await Bun.sleep(10);
  const piped = relayRooms.at(-1)!.bytes as number;
  const cpu = (await cpuSeconds(relay.pid!)) - cpu0;
  return { mbps: bytes / seconds / 1e6, cpuPerGb: cpu / (piped / 1e9), firstFileMs: firstFile - t0, path };
}

const d: number[] = [];
const rl: Awaited<ReturnType<typeof relayed>>[] = [];
const met: Awaited<ReturnType<typeof relayed>>[] = [];
for (let i = 0; i < rounds; i++) {
  d.push(await direct());
  rl.push(await relayed());
  met.push(await relayed(false));
  console.error(
    `round ${i + 1}: direct ${d.at(-1)!.toFixed(1)} MB/s, relayed ${rl.at(-1)!.mbps.toFixed(1)} MB/s, relay ${rl.at(-1)!.cpuPerGb.toFixed(2)} CPU-s/GB, send start → first file ${rl.at(-1)!.firstFileMs.toFixed(0)} ms`,
  );
  console.error(
    `round ${i + 1}: met at the relay without --relay-only: ${met.at(-1)!.path}, ${met.at(-1)!.mbps.toFixed(1)} MB/s, first file ${met.at(-1)!.firstFileMs.toFixed(0)} ms`,
  );
}
const range = (xs: number[], digits = 1) => `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;
console.log(
  JSON.stringify({
    where: values.where,
    rate: netns ? values.rate : "none",
    relaySockets: values["relay-sockets"],
    sizeMB: bytes / 1e6,
    rounds,
    directMBps: range(d),
    relayedMBps: range(rl.map((r) => r.mbps)),
    ratioMedian: Number((median(rl.map((r) => r.mbps)) / median(d)).toFixed(3)),
    relayCpuSecondsPerGB: range(
      rl.map((r) => r.cpuPerGb),
      2,
    ),
    sendStartToFirstFileMs: range(
      rl.map((r) => r.firstFileMs),
      0,
    ),
    defaultPath: [...new Set(met.map((m) => m.path))].join(","),
    defaultMBps: range(met.map((m) => m.mbps)),
    defaultSendStartToFirstFileMs: range(
      met.map((m) => m.firstFileMs),
      0,
    ),
  }),
);
relay.kill("SIGINT");
await exitOf(relay);
await rm(work, { recursive: true, force: true });
cleanup();
process.exit(0);
