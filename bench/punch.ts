/**
 * A punched udp-reliable path against the same transport to an explicit address, through the same two
 * NATed homes (alternating rounds), and the time from starting `xfer send` (the code typed) to the
 * receiver's first file over the punched path.
 *
 *   sudo bun bench/punch.ts [--size 100] [--rounds 3] [--rate 100mbit|none]
 *   sudo bun bench/punch.ts --netlab [--loss 1%] [--delay 25ms] [--rate 100mbit] [--size 50] [--rounds 3]
 *
 * Each punched round also prints its meeting's timeline (XFER_MEETING_TRACE: each step's time after the
 * send started, on both sides) and the TCP retransmissions (nstat) in the sender's and the relay's
 * namespaces during it. A punched round that fell back to the relay is counted (punchedFellBackToRelay).
 *
 * Two homes behind nftables masquerade (test/helpers/netns.ts), each uplink shaped with tbf at --rate
 * both ways. explicit: the receiver's router forwards UDP 7878 to it (a port forward), the sender
 * dials the router's public address. punched: both meet at the relay in the internet namespace and the
 * session moves to the hole punched through both NATs. Both cross the same four shaped links.
 * --netlab: instead of tbf, the homes meet across bench/netlab's emulated link (--delay, --loss and
 * --rate each way, bench/lossy-netlab.ts), which both arms cross.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { buildNetLab, shapeLink } from "../test/helpers/netns.ts";
import { BENCH_CODE, CLI, exitOf, median, randomFile } from "./lib.ts";
import { buildLossyNetLab } from "./lossy-netlab.ts";

const { values } = parseArgs({
  options: {
    size: { type: "string", default: "100" },
    rounds: { type: "string", default: "3" },
    rate: { type: "string", default: "100mbit" },
    netlab: { type: "boolean", default: false },
    loss: { type: "string", default: "1%" },
    delay: { type: "string", default: "25ms" },
  },
});
const bytes = Number(values.size) * 1e6;
const rounds = Number(values.rounds);
const work = await mkdtemp(join(tmpdir(), "xfer-bench-punch-"));
const src = join(work, "src.bin");
await randomFile(src, bytes);

const prefix = `xp${process.pid % 10000}`;
const lab = values.netlab
  ? buildLossyNetLab(prefix, { delay: values.delay!, loss: values.loss!, rate: values.rate! }, join(work, "netem-lab"))
  : buildNetLab(prefix, 2);
process.on("exit", () => lab.destroy());
const [home1, home2] = lab.homes as [(typeof lab.homes)[0], (typeof lab.homes)[0]];
const routerOf = (host: string) => host.replace(/-h(\d)$/, "-r$1");
const sh = (ns: string, args: string[], input?: string) => {
  const r = spawnSync("ip", ["netns", "exec", ns, ...args], { input, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${args.join(" ")} in ${ns}: ${r.stderr}`);
};
if (!values.netlab && values.rate !== "none")
  for (const [ns, dev] of [
    [routerOf(home1.host), "wan"],
    [lab.internet, "to-r1"],
    [routerOf(home2.host), "wan"],
    [lab.internet, "to-r2"],
  ] as const)
    shapeLink(ns, dev, values.rate!);
// The explicit arm's port forward: UDP 7878 on home 1's router goes to its host.
sh(
  routerOf(home1.host),
  ["nft", "-f", "-"],
  `table ip portfwd {\n chain pre {\n  type nat hook prerouting priority dstnat;\n  iifname "wan" udp dport 7878 dnat to ${home1.address}:7878\n }\n}\n`,
);

/** Meeting steps (XFER_MEETING_TRACE) of the round running now: "send:joined" → wall-clock ms. */
let steps = new Map<string, number>();
function xferIn(ns: string, args: string[]): ChildProcess {
  const proc = spawn("ip", ["netns", "exec", ns, process.execPath, CLI, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, XFER_CODE: BENCH_CODE, XFER_DISCOVERY: "off", XFER_MEETING_TRACE: "1" },
  });
  createInterface({ input: proc.stderr! }).on("line", (line) => {
    const mark = line.startsWith('{"meeting"')
      ? (JSON.parse(line) as { meeting: string; side: string; at: number })
      : null;
    if (!mark) return void process.stderr.write(`${line}\n`);
    const key = `${mark.side}:${mark.meeting}`;
    if (!steps.has(key)) steps.set(key, mark.at);
  });
  return proc;
}
/** TCP retransmissions so far in a namespace: every segment, and SYNs alone (`nstat`, absolute). */
function retransmits(ns: string): { segs: number; syns: number; probes: number } {
  const r = spawnSync("ip", ["netns", "exec", ns, "nstat", "-asz", "--json"], { encoding: "utf8" });
  const all = (JSON.parse(r.stdout) as { kernel: Record<string, number> }).kernel;
  return { segs: all.TcpRetransSegs ?? 0, syns: all.TcpExtTCPSynRetrans ?? 0, probes: all.TcpExtTCPLossProbes ?? 0 };
}
function events(proc: ChildProcess, on: (e: Record<string, unknown>) => void): void {
  createInterface({ input: proc.stdout! }).on("line", (line) => on(JSON.parse(line)));
}

const relay = xferIn(lab.internet, ["relay", "--listen", "0.0.0.0:7879", "--json"]);
await new Promise<void>((res) => events(relay, (e) => e.event === "relay-listening" && res()));
const relayAt = `${lab.relayAddress}:7879`;

interface Run {
  mbps: number;
  /** From the first file's start to the end: the path's own throughput, without the meeting. */
  afterFirstMbps: number;
  firstFileMs: number;
  path: string;
  /** Each meeting step's time after the send started, ms (punched only). */
  timeline: Record<string, number>;
  /** TCP retransmissions during the round: the sender's namespace, the relay's. */
  tcpRetransmits: { send: ReturnType<typeof retransmits>; relay: ReturnType<typeof retransmits> };
}

async function once(kind: "explicit" | "punched"): Promise<Run> {
  const dest = join(work, `out-${kind}`);
  await rm(dest, { recursive: true, force: true });
  const recvArgs =
    kind === "explicit"
      ? ["recv", dest, "--listen", "0.0.0.0:7878", "--once", "--via", "udp-reliable", "--json"]
      : ["recv", dest, "--relay", relayAt, "--json"];
  const recv = xferIn(home1.host, recvArgs);
  let firstFile = 0;
  let path: string = kind;
  await new Promise<void>((res) =>
    events(recv, (e) => {
      if (e.event === "listening" || e.event === "rendezvous") res();
      if (e.event === "path") path = `${e.path} ${e.via}`;
      if (e.event === "file-start" && firstFile === 0) {
        firstFile = performance.now();
        steps.set("recv:file-start", Date.now());
      }
    }),
  );
  spawnSync("sync");
  const before = { send: retransmits(home2.host), relay: retransmits(lab.internet) };
  steps = new Map();
  const wall0 = Date.now();
  const t0 = performance.now();
  const to = kind === "explicit" ? [`${home1.publicAddress}:7878`] : ["--relay", relayAt];
  const send = xferIn(home2.host, ["send", "--json", "--via", "udp-reliable", src, ...to]);
  let senderPath = "";
  events(send, (e) => {
    if (e.event === "path") senderPath = `${e.path}${e.udpFailed ? ` (${e.udpFailed})` : ""}`;
  });
  const [s, r] = await Promise.all([exitOf(send), exitOf(recv)]);
  const seconds = (performance.now() - t0) / 1000;
  if (s !== 0 || r !== 0 || (await stat(join(dest, "src.bin"))).size !== bytes)
    throw new Error(`${kind} failed ${s}/${r}`);
  // A punched run that fell back to the relay measures the relay, not the hole: counted apart, and said why.
  if (kind === "punched" && !path.startsWith("direct-udp")) console.error(`punched run fell back: ${senderPath}`);
  const end = t0 + seconds * 1000;
  const after = { send: retransmits(home2.host), relay: retransmits(lab.internet) };
  const diff = (a: ReturnType<typeof retransmits>, b: ReturnType<typeof retransmits>) => ({
    segs: a.segs - b.segs,
    syns: a.syns - b.syns,
    probes: a.probes - b.probes,
  });
  return {
    timeline: Object.fromEntries([...steps].sort((a, b) => a[1] - b[1]).map(([k, at]) => [k, at - wall0])),
    tcpRetransmits: { send: diff(after.send, before.send), relay: diff(after.relay, before.relay) },
    mbps: bytes / seconds / 1e6,
    afterFirstMbps: bytes / ((end - firstFile) / 1000) / 1e6,
    firstFileMs: firstFile - t0,
    path,
  };
}

const explicit: Run[] = [];
const punched: Run[] = [];
for (let i = 0; i < rounds; i++) {
  explicit.push(await once("explicit"));
  punched.push(await once("punched"));
  console.error(
    `round ${i + 1}: punched timeline ${JSON.stringify(punched.at(-1)!.timeline)} TCP retransmits ${JSON.stringify(punched.at(-1)!.tcpRetransmits)}\n` +
      `round ${i + 1}: explicit ${explicit.at(-1)!.mbps.toFixed(2)} MB/s (first file ${explicit.at(-1)!.firstFileMs.toFixed(0)} ms), punched ${punched.at(-1)!.mbps.toFixed(2)} MB/s (first file ${punched.at(-1)!.firstFileMs.toFixed(0)} ms, ${punched.at(-1)!.path})`,
  );
}
const range = (xs: number[], digits = 1) => `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;
console.log(
  JSON.stringify({
    rate: values.rate,
    ...(values.netlab ? { netlab: { delay: values.delay, loss: values.loss } } : {}),
    sizeMB: bytes / 1e6,
    rounds,
    explicitMBps: range(
      explicit.map((r) => r.mbps),
      2,
    ),
    punchedMBps: range(
      punched.map((r) => r.mbps),
      2,
    ),
    ratioMedian: Number((median(punched.map((r) => r.mbps)) / median(explicit.map((r) => r.mbps))).toFixed(3)),
    explicitAfterFirstFileMBps: range(
      explicit.map((r) => r.afterFirstMbps),
      2,
    ),
    punchedAfterFirstFileMBps: range(
      punched.map((r) => r.afterFirstMbps),
      2,
    ),
    afterFirstFileRatioMedian: Number(
      (median(punched.map((r) => r.afterFirstMbps)) / median(explicit.map((r) => r.afterFirstMbps))).toFixed(3),
    ),
    explicitSendStartToFirstFileMs: range(
      explicit.map((r) => r.firstFileMs),
      0,
    ),
    punchedSendStartToFirstFileMs: range(
      punched.map((r) => r.firstFileMs),
      0,
    ),
    punchedPaths: [...new Set(punched.map((r) => r.path.split(" ")[0]))].join(","),
    punchedFellBackToRelay: punched.filter((r) => !r.path.startsWith("direct-udp")).length,
    punchedSendStartToFirstFileMedianMs: Math.round(median(punched.map((r) => r.firstFileMs))),
    explicitSendStartToFirstFileMedianMs: Math.round(median(explicit.map((r) => r.firstFileMs))),
  }),
);
relay.kill("SIGINT");
await exitOf(relay);
lab.destroy();
await rm(work, { recursive: true, force: true });
process.exit(0);
