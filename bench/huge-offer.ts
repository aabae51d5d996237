/**
 * The receiver's cost of a huge offer: `xfer recv` (the real CLI) is offered N entries (N/1000
 * folders of 1000 empty-named files, names as short as possible: a 64 MiB control message holds
 * about 10^6 of them) by a scripted sender, which stops once the offer is answered. Prints the
 * receiver's CPU seconds and peak RSS from offer to answer.
 * The hello announces what `xfer send` announces (per-file refusals: the receiver then checks each
 * entry's part too); `--old-sender` announces nothing, as the first measurements did.
 * Usage: bun bench/huge-offer.ts [entries=1000000] [--old-sender]
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeControlFrame, FrameDecoder } from "../src/core/protocol/frames.ts";
import { run } from "../test/helpers/cli.ts";
import { sealedConnect } from "../test/helpers/sealed-client.ts";

const args = process.argv.slice(2);
const n = Number(args.find((a) => !a.startsWith("--")) ?? 1_000_000);
const features = args.includes("--old-sender") ? [] : ["received", "refuse-entries"];
const dir = await mkdtemp(join(process.env.XFER_BENCH_DIR ?? tmpdir(), "xfer-offer-"));
const recv = run(["recv", dir, "--listen", "127.0.0.1:0", "--json", "--once", "--yes"]);
const port = (await recv.waitFor((e) => e.event === "listening")).port as number;

const entries: object[] = [];
for (let d = 0; d < Math.ceil(n / 1000); d++) {
  entries.push({ path: `${d}`, kind: "dir", size: 0, mode: 0o755, mtimeMs: 0 });
  for (let f = 0; f < 1000 && entries.length < n; f++)
    entries.push({ path: `${d}/${f}`, kind: "file", size: 1, mode: 0o644, mtimeMs: 0 });
}
const offer = JSON.stringify({ type: "offer", entries });
console.log(`offer: ${entries.length} entries, ${(offer.length / 1e6).toFixed(1)} MB of JSON`);

const cpu = () => {
  const f = readFileSync(`/proc/${recv.proc.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
};
const conn = await sealedConnect(port);
await conn.write(
  encodeControlFrame(
    JSON.stringify({ type: "hello", protocol: "xfer", version: 2, role: "sender", software: "bench", features }),
  ),
);
const decoder = new FrameDecoder();
const it = conn.readable[Symbol.asyncIterator]();
const nextControl = async () => {
  for (;;) {
    const chunk = await it.next();
    if (chunk.done) throw new Error("receiver closed");
    const got = decoder.push(chunk.value).find((p) => p.kind === "control");
    if (got && got.kind === "control") {
      const msg = JSON.parse(got.json) as { type: string };
      if (msg.type !== "ping") return msg;
    }
  }
};
await nextControl();
const cpu0 = cpu();
const t0 = performance.now();
await conn.write(encodeControlFrame(offer));
const answer = await nextControl();
const seconds = (performance.now() - t0) / 1000;
const used = cpu() - cpu0;
const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${recv.proc.pid}/status`, "utf8"))?.[1];
console.log(
  `answer '${answer.type}' after ${seconds.toFixed(1)} s; receiver CPU ${used.toFixed(1)} s, peak RSS ${(Number(hwm) / 1024).toFixed(0)} MB`,
);
conn.destroy();
recv.proc.kill();
await recv.exited;
await rm(dir, { recursive: true, force: true });
