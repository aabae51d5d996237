/**
 * Side by side on the emulated long, lossy link of bench/netlab/ (100 Mbit/s, 25 ms each way, loss each
 * way): iperf3 with TCP cubic and bbr, then xfer over each given transport, the same bytes in one run.
 * Needs root (network namespaces). Traffic stays between 10.77.0.1 and 10.77.0.2 inside the namespaces.
 *
 * Messy paths: --reorder 1% (netem's sense: that share skips the delay), --jitter 5ms, --dup 1%,
 * each way on top of the loss.
 *
 * Usage: bun bench/netlab.ts [--size 200] [--loss 0,1,5] [--via tcp-stream,udp-reliable] [--rate 100mbit]
 *        [--delay 25ms] [--reorder 1%] [--jitter 5ms] [--dup 1%] [--iperf-seconds 20] [--no-iperf]
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { BENCH_CODE, CLI, exitOf, randomFile } from "./lib.ts";

const { values } = parseArgs({
  options: {
    size: { type: "string", default: "200" },
    loss: { type: "string", default: "0,1,5" },
    via: { type: "string", default: "tcp-stream,udp-reliable" },
    rate: { type: "string", default: "100mbit" },
    delay: { type: "string", default: "25ms" },
    reorder: { type: "string" },
    jitter: { type: "string" },
    dup: { type: "string" },
    "no-iperf": { type: "boolean", default: false },
    // iperf3 runs for a time, not a size: TCP cubic at 5% loss would need most of an hour for 200 MB.
    "iperf-seconds": { type: "string", default: "20" },
  },
});
const LAB = resolve(import.meta.dir, "netlab/netem-lab");
const B = "10.77.0.2";
const bytes = Number(values.size) * 1e6;

function lab(...args: string[]) {
  const r = spawnSync(LAB, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`netem-lab ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

async function iperf(cc: string): Promise<number> {
  const server = spawn(LAB, ["run", "b", "--", "iperf3", "-s", "-1", "-B", B], { stdio: "ignore" });
  await Bun.sleep(300);
  const client = spawnSync(LAB, ["run", "a", "--", "iperf3", "-c", B, "-t", values["iperf-seconds"], "-C", cc, "-J"], {
    encoding: "utf8",
    timeout: 900_000,
  });
  server.kill();
  const report = JSON.parse(client.stdout) as { end: { sum_received: { bits_per_second: number } } };
  return report.end.sum_received.bits_per_second / 8 / 1e6;
}

interface XferResult {
  mbps: number;
  stats: Record<string, unknown> | null;
}

async function xferRun(via: string, src: string, out: string): Promise<XferResult> {
  await rm(out, { recursive: true, force: true });
  const bun = process.execPath;
  const recv = spawn(
    LAB,
    ["run", "b", "--", bun, CLI, "recv", out, "--listen", `${B}:7878`, "--via", via, "--once", "--json"],
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, XFER_CODE: BENCH_CODE } },
  );
  // The clock stops when the sender has exited and the receiver reported `done` (file verified and
  // in place): what a user waits for. A receiver's LINGER after that delays nobody.
  let receiverDone = 0;
  await new Promise<void>((res) => {
    createInterface({ input: recv.stdout! }).on("line", (l) => {
      if (l.includes('"listening"')) res();
      if (l.includes('"event":"done"')) receiverDone = performance.now();
    });
  });
  const t0 = performance.now();
  const send = spawn(LAB, ["run", "a", "--", bun, CLI, "send", "--json", "--via", via, src, `${B}:7878`], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, XFER_CODE: BENCH_CODE },
  });
  let stats: Record<string, unknown> | null = null;
  createInterface({ input: send.stdout! }).on("line", (l) => {
    const e = JSON.parse(l) as Record<string, unknown>;
    if (e.event === "stats") stats = e;
  });
  let senderExit = 0;
  const [s, r] = await Promise.all([
    exitOf(send).then((code) => {
      senderExit = performance.now();
      return code;
    }),
    exitOf(recv),
  ]);
  const seconds = (Math.max(senderExit, receiverDone) - t0) / 1000;
  const size = await stat(join(out, "src.bin")).then(
    (st) => st.size,
    () => -1,
  );
  if (s !== 0 || r !== 0 || size !== bytes) throw new Error(`xfer ${via} failed (exit ${s}/${r}, ${size} bytes)`);
  return { mbps: bytes / 1e6 / seconds, stats };
}

const work = await mkdtemp(join(tmpdir(), "xfer-netlab-"));
try {
  const src = join(work, "src.bin");
  await randomFile(src, bytes);
  console.log(
    `file ${values.size} MB, link ${values.rate}, ${values.delay} each way, loss each way as listed${
      values.reorder || values.jitter || values.dup
        ? ` (reorder ${values.reorder ?? "0%"}, jitter ${values.jitter ?? "0ms"}, dup ${values.dup ?? "0%"})`
        : ""
    }; MB/s = 1e6 B/s over the time from starting the sender until it exited and the receiver reported done`,
  );
  for (const loss of values.loss.split(",")) {
    const mess = (["reorder", "jitter", "dup"] as const).flatMap((o) => (values[o] ? [`--${o}`, values[o]] : []));
    lab("up", "--delay", values.delay, "--rate", values.rate, "--loss", `${loss}%`, ...mess);
    const row: string[] = [`loss ${loss}%`];
    let cubic = Number.NaN;
    if (!values["no-iperf"]) {
      cubic = await iperf("cubic");
      row.push(`iperf3 cubic ${cubic.toFixed(2)}`, `iperf3 bbr ${(await iperf("bbr")).toFixed(2)}`);
    }
    for (const via of values.via.split(",")) {
      try {
        const r = await xferRun(via, src, join(work, `out-${via}`));
        const retrans = r.stats?.retransmittedBytes as number | undefined;
        const extra = retrans === undefined ? "" : `, retransmitted ${((100 * retrans) / bytes).toFixed(2)}%`;
        const rtt = r.stats?.rttMs === undefined ? "" : `, RTT ${r.stats.rttMs} ms (min ${r.stats.minRttMs})`;
        const vsCubic = Number.isNaN(cubic) ? "" : ` (${(r.mbps / cubic).toFixed(1)}x cubic)`;
        row.push(`xfer ${via} ${r.mbps.toFixed(2)}${vsCubic}${extra}${rtt}`);
      } catch (err) {
        row.push(`xfer ${via} FAILED: ${(err as Error).message}`);
      }
    }
    console.log(row.join(" | "));
  }
} finally {
  lab("down");
  await rm(work, { recursive: true, force: true });
}
