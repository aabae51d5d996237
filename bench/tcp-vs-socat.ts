/**
 * tcp-stream against socat, disk to disk on loopback, alternating runs so all see the same noise.
 * Usage: bun bench/tcp-vs-socat.ts [sizeMiB=1024] [rounds=3]
 * A third contender, the runtime's floor (bench/floor-pair.ts: two minimal Bun processes that only
 * hash and copy), shows how much of the gap to socat is the runtime and the hashing, not xfer.
 * Also reports peak RSS of each xfer side (target: under 120 MB whatever the size).
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
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
  await settleDisk();
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
  await settleDisk();
  const t0 = performance.now();
  const send = spawn("socat", ["-u", "-b", "131072", `OPEN:${src}`, `TCP:127.0.0.1:${port}`]);
  const [s, r] = await Promise.all([exitOf(send), exitOf(recv)]);
  const plain = (performance.now() - t0) / 1000;
  await exitOf(spawn("sync", [out]));
  const durable = (performance.now() - t0) / 1000;
  if (s !== 0 || r !== 0 || (await stat(out)).size !== bytes) throw new Error(`socat failed (${s}/${r})`);
  return { plain, durable };
}

/**
 * Flush what earlier runs left dirty, outside the clock: otherwise the page cache's writeback of the
 * previous contender's gigabyte lands in the next one's run (it made single runs vary 4x).
 */
async function settleDisk(): Promise<void> {
  await exitOf(spawn("sync"));
}

/** The minimal Bun pair; both sides must print the same hash. */
async function runFloor(): Promise<number> {
  const out = join(work, "floor-out.bin");
  const port = 20000 + Math.floor(Math.random() * 20000);
  const pair = join(import.meta.dir, "floor-pair.ts");
  const lines = (p: ReturnType<typeof spawn>) => createInterface({ input: p.stdout! })[Symbol.asyncIterator]();
  const recv = spawn(process.execPath, [pair, "recv", String(port), out], { stdio: ["ignore", "pipe", "inherit"] });
  const recvLines = lines(recv);
  if ((await recvLines.next()).value !== "listening") throw new Error("floor receiver did not start");
  await settleDisk();
  const t0 = performance.now();
  const send = spawn(process.execPath, [pair, "send", String(port), src], { stdio: ["ignore", "pipe", "inherit"] });
  const [sentHash, receivedHash] = await Promise.all([lines(send).next(), recvLines.next()]);
  const [s, r] = await Promise.all([exitOf(send), exitOf(recv)]);
  const seconds = (performance.now() - t0) / 1000;
  if (s !== 0 || r !== 0 || !sentHash.value || sentHash.value !== receivedHash.value)
    throw new Error(`floor pair failed (${s}/${r})`);
  await rm(out, { force: true });
  return seconds;
}

const ratios: number[] = [];
const durableRatios: number[] = [];
const floorRatios: number[] = [];
const xferToFloor: number[] = [];
try {
  for (let i = 0; i < rounds; i++) {
    const socat = await runSocat();
    const floor = await runFloor();
    const x = await runXfer();
    const mb = bytes / 1e6;
    ratios.push(socat.plain / x.seconds);
    durableRatios.push(socat.durable / x.seconds);
    floorRatios.push(socat.plain / floor);
    xferToFloor.push(floor / x.seconds);
    console.log(
      `round ${i + 1}: socat ${(mb / socat.plain).toFixed(0)} MB/s (${(mb / socat.durable).toFixed(0)} with sync), floor pair ${(mb / floor).toFixed(0)} MB/s, xfer tcp-stream ${(mb / x.seconds).toFixed(0)} MB/s, peak RSS send ${x.sendRss.toFixed(0)} MB / recv ${x.recvRss.toFixed(0)} MB`,
    );
  }
  console.log(
    `medians over ${rounds} rounds of ${sizeMiB} MiB: xfer/socat ${median(ratios).toFixed(2)} (against socat + sync: ${median(durableRatios).toFixed(2)}), floor/socat ${median(floorRatios).toFixed(2)}, xfer/floor ${median(xferToFloor).toFixed(2)}`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
