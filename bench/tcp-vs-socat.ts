/**
 * tcp-stream against socat, disk to disk on loopback, alternating runs so both see the same noise.
 * Usage: bun bench/tcp-vs-socat.ts [sizeMiB=1024] [rounds=3]
 * Also reports peak RSS of each xfer side (target: under 120 MB whatever the size).
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exitOf, listeningPort, median, randomFile, trackPeakRss, xfer } from "./lib.ts";

const sizeMiB = Number(process.argv[2] ?? 1024);
const rounds = Number(process.argv[3] ?? 3);
const bytes = sizeMiB * 1024 * 1024;
const work = await mkdtemp(join(tmpdir(), "xfer-bench-"));
const src = join(work, "src.bin");
await randomFile(src, bytes);

async function runXfer(): Promise<{ seconds: number; sendRss: number; recvRss: number }> {
  const dest = join(work, "xfer-out");
  await rm(dest, { recursive: true, force: true });
  const recv = xfer(["recv", dest, "--listen", "127.0.0.1:0", "--once", "--json"]);
  const recvRss = trackPeakRss(recv);
  const port = await listeningPort(recv);
  const t0 = performance.now();
  const send = xfer(["send", "--quiet", src, `127.0.0.1:${port}`]);
  const sendRss = trackPeakRss(send);
  const [s, r] = await Promise.all([exitOf(send), exitOf(recv)]);
  const seconds = (performance.now() - t0) / 1000;
  if (s !== 0 || r !== 0 || (await stat(join(dest, "src.bin"))).size !== bytes)
    throw new Error(`xfer failed (${s}/${r})`);
  return { seconds, sendRss: sendRss.peakMb(), recvRss: recvRss.peakMb() };
}

/** socat alone, and socat followed by `sync` of the output: xfer flushes before publishing a file. */
async function runSocat(): Promise<{ plain: number; durable: number }> {
  const out = join(work, "socat-out.bin");
  await rm(out, { force: true });
  const port = 20000 + Math.floor(Math.random() * 20000);
  const recv = spawn("socat", [
    "-u",
    "-b",
    "131072",
    `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr`,
    `OPEN:${out},creat,trunc`,
  ]);
  await Bun.sleep(150);
  const t0 = performance.now();
  const send = spawn("socat", ["-u", "-b", "131072", `OPEN:${src}`, `TCP:127.0.0.1:${port}`]);
  const [s, r] = await Promise.all([exitOf(send), exitOf(recv)]);
  const plain = (performance.now() - t0) / 1000;
  await exitOf(spawn("sync", [out]));
  const durable = (performance.now() - t0) / 1000;
  if (s !== 0 || r !== 0 || (await stat(out)).size !== bytes) throw new Error(`socat failed (${s}/${r})`);
  return { plain, durable };
}

const ratios: number[] = [];
const durableRatios: number[] = [];
try {
  for (let i = 0; i < rounds; i++) {
    const socat = await runSocat();
    const x = await runXfer();
    const mb = bytes / 1e6;
    ratios.push(socat.plain / x.seconds);
    durableRatios.push(socat.durable / x.seconds);
    console.log(
      `round ${i + 1}: socat ${(mb / socat.plain).toFixed(0)} MB/s (${(mb / socat.durable).toFixed(0)} with sync), xfer tcp-stream ${(mb / x.seconds).toFixed(0)} MB/s, peak RSS send ${x.sendRss.toFixed(0)} MB / recv ${x.recvRss.toFixed(0)} MB`,
    );
  }
  console.log(
    `median xfer/socat throughput ratio over ${rounds} rounds of ${sizeMiB} MiB: ${median(ratios).toFixed(2)} (against socat + sync: ${median(durableRatios).toFixed(2)})`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
