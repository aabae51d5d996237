/**
 * tcp-stream alone, this tree's against another checkout's, in one process over loopback: listen, dial,
 * push N MiB one way in 512 KiB writes (the session's data frame size), read it all. No disk, no crypto,
 * no session: what the transport's own hot path costs. Alternating rounds; CPU is both ends together.
 * Usage: XFER_BASE=/path/to/other/checkout bun bench/tcp-plugin-pair.ts [sizeMiB=1024] [rounds=6]
 */
import { join, resolve } from "node:path";
import type { StreamConnection, TransportContext, TransportDefinition } from "../src/plugin/api.ts";
import { median } from "./lib.ts";

const base = process.env.XFER_BASE;
if (!base) throw new Error("set XFER_BASE to the checkout to compare against");
const sizeMiB = Number(process.argv[2] ?? 1024);
const rounds = Number(process.argv[3] ?? 6);
const CHUNK = 512 * 1024;

const load = async (root: string) =>
  (await import(join(resolve(root), "plugins/tcp-stream/index.ts"))).default as TransportDefinition<"stream">;
const sides = { base: await load(base), this: await load(".") };
const ctx: TransportContext = { options: { extra: {} }, log: { debug() {}, info() {}, warn() {} }, stats() {} };

async function once(t: TransportDefinition<"stream">): Promise<{ mbps: number; cpuMsPerGiB: number }> {
  let accepted!: (c: StreamConnection) => void;
  const server = new Promise<StreamConnection>((r) => (accepted = r));
  const listener = await t.listen({ host: "127.0.0.1", port: 0 }, ctx, (c) => accepted(c));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const client = await t.dial(listener.address, ctx, new AbortController().signal);
  const chunk = new Uint8Array(CHUNK).fill(7);
  const total = sizeMiB * 1024 * 1024;
  const sending = (async () => {
    for (let sent = 0; sent < total; sent += CHUNK) await client.write(chunk);
    await client.end();
  })();
  const peer = await server;
  let got = 0;
  for await (const c of peer.readable) got += c.byteLength;
  await sending;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (got !== total) throw new Error(`received ${got} of ${total}`);
  peer.destroy();
  client.destroy();
  await listener.close();
  return { mbps: total / 1e6 / seconds, cpuMsPerGiB: (cpu.user + cpu.system) / 1000 / (total / 2 ** 30) };
}

const results = { base: [] as number[], this: [] as number[] };
const cpus = { base: [] as number[], this: [] as number[] };
for (let round = 1; round <= rounds; round++) {
  const order = round % 2 ? (["base", "this"] as const) : (["this", "base"] as const);
  for (const side of order) {
    const r = await once(sides[side]);
    results[side].push(r.mbps);
    cpus[side].push(r.cpuMsPerGiB);
    console.log(`round ${round} ${side}: ${r.mbps.toFixed(0)} MB/s, ${r.cpuMsPerGiB.toFixed(0)} ms CPU per GiB`);
  }
}
const b = median(results.base);
const t = median(results.this);
console.log(
  `tcp-stream pair ${sizeMiB} MiB, ${rounds} rounds: base median ${b.toFixed(0)} MB/s, this ${t.toFixed(0)} MB/s, ratio ${(t / b).toFixed(2)}; CPU per GiB base ${median(cpus.base).toFixed(0)} ms, this ${median(cpus.this).toFixed(0)} ms`,
);
process.exit(0);
