/**
 * Peak RSS of both xfer sides for a given file size over tcp-stream (target: under 120 MB whatever the size).
 * Usage: bun bench/memory.ts [sizeMiB...]   (default: 256 4096)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exitOf, listeningPort, randomFile, trackPeakRss, xfer } from "./lib.ts";

const sizes = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [256, 4096];
const via = process.env.VIA ?? "tcp-stream";
for (const sizeMiB of sizes) {
  const work = await mkdtemp(join(tmpdir(), "xfer-mem-"));
  try {
    const src = join(work, "src.bin");
    await randomFile(src, sizeMiB * 1024 * 1024);
    const recv = xfer(["recv", join(work, "out"), "--listen", "127.0.0.1:0", "--once", "--json", "--via", via]);
    const recvRss = trackPeakRss(recv);
    const port = await listeningPort(recv);
    const t0 = performance.now();
    const send = xfer(["send", "--quiet", "--via", via, src, `127.0.0.1:${port}`]);
    const sendRss = trackPeakRss(send);
    const codes = await Promise.all([exitOf(send), exitOf(recv)]);
    const s = (performance.now() - t0) / 1000;
    console.log(
      `${via} ${sizeMiB} MiB: exit ${codes.join("/")}, ${((sizeMiB * 1.048576) / s).toFixed(0)} MB/s, peak RSS sender ${sendRss.peakMb().toFixed(0)} MB, receiver ${recvRss.peakMb().toFixed(0)} MB`,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
