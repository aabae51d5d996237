/**
 * This tree's CLI against another checkout's (today's code before a change), disk to disk on
 * loopback, alternating rounds so both see the same noise. What a change to a hot path costs.
 * Usage: XFER_BASE=/path/to/other/checkout bun bench/against-base.ts [via=tcp-stream] [sizeMiB=1024] [rounds=3]
 * XFER_SEND_ARGS / XFER_RECV_ARGS add flags to each side (e.g. "--rate 3gbit --allow-loss" for udp-raw).
 * (the other checkout needs its node_modules; `git worktree add /tmp/base <commit>` and a symlink do).
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { BENCH_CODE, CLI, exitOf, listeningPort, median, randomFile, trackPeakRss } from "./lib.ts";

const base = process.env.XFER_BASE;
if (!base) throw new Error("set XFER_BASE to the checkout to compare against");
const via = process.argv[2] ?? "tcp-stream";
const sizeMiB = Number(process.argv[3] ?? 1024);
const rounds = Number(process.argv[4] ?? 3);
const bytes = sizeMiB * 1024 * 1024;
const words = (v: string | undefined) => (v ?? "").split(" ").filter(Boolean);
const SEND_ARGS = words(process.env.XFER_SEND_ARGS);
const RECV_ARGS = words(process.env.XFER_RECV_ARGS);
const work = await mkdtemp(join(tmpdir(), "xfer-bench-base-"));
const src = join(work, "src.bin");
await randomFile(src, bytes);

async function once(cli: string): Promise<{ mbps: number; sendRss: number; recvRss: number }> {
  const dest = join(work, "out");
  await rm(dest, { recursive: true, force: true });
  const env = { ...process.env, XFER_CODE: BENCH_CODE };
  const stdio: ["ignore", "pipe", "inherit"] = ["ignore", "pipe", "inherit"];
  const recv = spawn(
    process.execPath,
    [cli, "recv", dest, "--listen", "127.0.0.1:0", "--via", via, "--once", "--json", ...RECV_ARGS],
    { stdio, env },
  );
  const recvRss = trackPeakRss(recv);
  const port = await listeningPort(recv);
  spawn("sync").on("exit", () => {});
  await new Promise((r) => setTimeout(r, 500));
  const t0 = performance.now();
  const send = spawn(process.execPath, [cli, "send", "--quiet", "--via", via, ...SEND_ARGS, src, `127.0.0.1:${port}`], {
    stdio,
    env,
  });
  const sendRss = trackPeakRss(send);
  const [s, r] = await Promise.all([exitOf(send), exitOf(recv)]);
  const seconds = (performance.now() - t0) / 1000;
  if (s !== 0 || r !== 0 || (await stat(join(dest, "src.bin"))).size !== bytes)
    throw new Error(`${cli}: failed (${s}/${r})`);
  return { mbps: bytes / seconds / 1e6, sendRss: sendRss.peakMb(), recvRss: recvRss.peakMb() };
}

const contenders = { base: resolve(base, "src/cli.ts"), this: CLI };
const results: Record<string, { mbps: number; sendRss: number; recvRss: number }[]> = { base: [], this: [] };
try {
  for (let i = 0; i < rounds; i++)
    for (const [name, cli] of i % 2 ? Object.entries(contenders).reverse() : Object.entries(contenders)) {
      const r = await once(cli);
      results[name]!.push(r);
      console.log(
        `round ${i + 1} ${name}: ${r.mbps.toFixed(0)} MB/s, RSS sender ${r.sendRss.toFixed(0)} MB, receiver ${r.recvRss.toFixed(0)} MB`,
      );
    }
} finally {
  await rm(work, { recursive: true, force: true });
}
const m = (name: string) => median(results[name]!.map((r) => r.mbps));
console.log(
  `${via} ${sizeMiB} MiB, ${rounds} rounds: base median ${m("base").toFixed(0)} MB/s, this ${m("this").toFixed(0)} MB/s, ratio ${(m("this") / m("base")).toFixed(2)}`,
);
