/**
 * Both sides of a real tree, the real CLI: `xfer send <tree>` to `xfer recv <the tree's parent>`
 * on loopback, so every file is already there and identical (the re-send of a tree: nothing is
 * written, each file costs its "identical, skipped" check). Reads each process's peak RSS (VmHWM)
 * and CPU from /proc until both exit. Events go to /dev/null.
 * `--fresh`: into a new, empty folder beside the tree instead (a first send: every file is created
 * and written), removed afterwards.
 * Usage: bun bench/huge-tree.ts <tree> [--fresh]   (e.g. the one bench/huge-offer.ts made under $XFER_BENCH_DIR)
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { CLI_ENTRY, TEST_CODE } from "../test/helpers/cli.ts";

const tree = resolve(process.argv[2] ?? "");
const fresh = process.argv.includes("--fresh");
const into = fresh ? mkdtempSync(`${dirname(tree)}/xfer-huge-fresh-`) : dirname(tree);
const port = 20_000 + (process.pid % 20_000);
const env = { ...process.env, XFER_CODE: TEST_CODE, XFER_DISCOVERY: "off" };
const start = (args: string[]) =>
  spawn(process.execPath, [CLI_ENTRY, ...args, "--json"], { stdio: ["ignore", "ignore", "inherit"], env });

const usage = (pid: number) => {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return { cpu: (Number(f[11]) + Number(f[12])) / 100, rssMB: Number(hwm) / 1024 };
  } catch {
    return null;
  }
};
const t0 = performance.now();
const recv = start(["recv", into, "--listen", `127.0.0.1:${port}`, "--once", "--yes"]);
await new Promise((r) => setTimeout(r, 1500));
const send = start(["send", tree, `127.0.0.1:${port}`]);
const last = new Map<string, { cpu: number; rssMB: number }>();
const exited = Promise.all([recv, send].map((p) => new Promise<number | null>((r) => p.on("exit", r))));
let done = false;
void exited.then(() => {
  done = true;
});
while (!done) {
  for (const [name, p] of [
    ["receiver", recv],
    ["sender", send],
  ] as const) {
    const u = usage(p.pid!);
    // A process that has exited and not yet been reaped has no VmHWM line: keep the reading before.
    if (u && Number.isFinite(u.rssMB)) last.set(name, u);
  }
  await new Promise((r) => setTimeout(r, 200));
}
const [recvCode, sendCode] = await exited;
if (fresh) rmSync(into, { recursive: true, force: true });
console.log(
  `${tree}${fresh ? " into an empty folder" : ""}: exit ${sendCode} (sender), ${recvCode} (receiver), ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
for (const [name, u] of last)
  console.log(`${name}: CPU ≥ ${u.cpu.toFixed(1)} s, peak RSS ≥ ${u.rssMB.toFixed(0)} MB (last read before it exited)`);
