/**
 * Many small files over loopback, disk to disk: xfer (tcp-stream) against an rsync daemon and
 * `tar c | socat | tar x`, in alternating rounds so all see the same noise. rsync and tar are timed
 * up to a `sync` of what they wrote (xfer has flushed every file before it gives it its name).
 * Usage: bun bench/many-files.ts [rounds=3] [trees=4k,1k,real]
 *   4k   = 10,000 files of 4 KiB in 100 folders     (XFER_BENCH_4K=count to change the count)
 *   1k   = 2,000 files of 1 KiB in 20 folders       (XFER_BENCH_1K=count)
 *   real = /usr/include copied to a temp folder    (XFER_BENCH_REAL=path for another tree)
 * Needs rsync and socat on PATH. Prints files/s and MB/s per contender and the median ratios.
 * XFER_BENCH_DIR: where the trees and copies go (default the temp folder). Every copy goes to a
 * fresh folder and nothing is deleted before a tree's rounds are over: on ext4 without a journal, creating files
 * right after deleting many scans past the recently deleted inodes (measured: tar x took 5 s
 * instead of 0.5 s), which would charge one contender for the previous one's cleanup.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, lstatSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { exitOf, listeningPort, median, xfer } from "./lib.ts";

const rounds = Number(process.argv[2] ?? 3);
const which = (process.argv[3] ?? "4k,1k,real").split(",");
const work = await mkdtemp(join(process.env.XFER_BENCH_DIR ?? tmpdir(), "xfer-many-"));

interface Tree {
  name: string;
  /** The folder sent (its name is the top-level entry on the far side). */
  dir: string;
  files: number;
  bytes: number;
}

function generated(name: string, count: number, size: number, perDir: number): Tree {
  const dir = join(work, `src-${name}`, "tree");
  const block = new Uint8Array(size);
  for (let i = 0; i < count; i++) {
    const sub = join(dir, `d${String(Math.floor(i / perDir)).padStart(3, "0")}`);
    if (i % perDir === 0) mkdirSync(sub, { recursive: true });
    crypto.getRandomValues(block);
    writeFileSync(join(sub, `f${String(i).padStart(6, "0")}.bin`), block);
  }
  return { name, dir, files: count, bytes: count * size };
}

/** Regular files and bytes under `dir` (what every contender must reproduce). */
function measure(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    files++;
    bytes += statSync(join(e.parentPath, e.name)).size;
  }
  return { files, bytes };
}

function realTree(): Tree {
  const from = process.env.XFER_BENCH_REAL ?? "/usr/include";
  const dir = join(work, "src-real", "tree");
  // Links are left out: until xfer carries them, every contender gets the same regular files.
  cpSync(from, dir, { recursive: true, filter: (p) => !lstatSync(p).isSymbolicLink() });
  return { name: `real (${from})`, dir, ...measure(dir) };
}

async function sh(cmd: string, args: string[]): Promise<void> {
  const code = await exitOf(spawn(cmd, args, { stdio: ["ignore", "ignore", "inherit"] }));
  if (code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${code}`);
}

let runs = 0;
/** A fresh, empty destination; what earlier runs left dirty is flushed outside the clock. */
async function freshDest(name: string): Promise<string> {
  const dest = join(work, `dest-${name}-${runs++}`);
  mkdirSync(dest);
  await sh("sync", []);
  await Bun.sleep(300);
  return dest;
}

function check(tree: Tree, dest: string, who: string): void {
  const got = measure(join(dest, "tree"));
  if (got.files !== tree.files || got.bytes !== tree.bytes)
    throw new Error(`${who}: ${got.files} files / ${got.bytes} B, expected ${tree.files} / ${tree.bytes}`);
}

async function runXfer(tree: Tree): Promise<number> {
  const dest = await freshDest("xfer");
  const recv = xfer(["recv", dest, "--listen", "127.0.0.1:0", "--once", "--json", "--yes"]);
  recv.stdout!.resume();
  const port = await listeningPort(recv);
  const t0 = performance.now();
  const send = xfer(["send", "--quiet", tree.dir, `127.0.0.1:${port}`]);
  send.stdout!.resume();
  const [s, r] = await Promise.all([exitOf(send), exitOf(recv)]);
  const seconds = (performance.now() - t0) / 1000;
  if (s !== 0 || r !== 0) throw new Error(`xfer failed (${s}/${r})`);
  check(tree, dest, "xfer");
  return seconds;
}

let rsyncd = null as ChildProcess | null;
let rsyncPort = 0;
async function startRsyncd(): Promise<void> {
  rsyncPort = 20000 + Math.floor(Math.random() * 20000);
  const conf = join(work, "rsyncd.conf");
  writeFileSync(conf, `use chroot = no\nuid = root\ngid = root\n[work]\npath = ${work}\nread only = no\n`);
  rsyncd = spawn(
    "rsync",
    ["--daemon", "--no-detach", `--config=${conf}`, `--port=${rsyncPort}`, "--address=127.0.0.1"],
    {
      stdio: "ignore",
    },
  );
  await Bun.sleep(300);
}

async function runRsync(tree: Tree): Promise<number> {
  const dest = await freshDest("rsync");
  const t0 = performance.now();
  await sh("rsync", ["-a", tree.dir, `rsync://127.0.0.1:${rsyncPort}/work/${basename(dest)}/`]);
  await sh("sync", ["-f", dest]);
  const seconds = (performance.now() - t0) / 1000;
  check(tree, dest, "rsync");
  return seconds;
}

async function runTarSocat(tree: Tree): Promise<number> {
  const dest = await freshDest("tar");
  const port = 20000 + Math.floor(Math.random() * 20000);
  const recv = spawn("sh", ["-c", `socat -u TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr STDOUT | tar x -C '${dest}'`], {
    stdio: "ignore",
  });
  await Bun.sleep(200);
  const t0 = performance.now();
  const parent = join(tree.dir, "..");
  await sh("sh", ["-c", `tar c -C '${parent}' tree | socat -u STDIN TCP:127.0.0.1:${port}`]);
  if ((await exitOf(recv)) !== 0) throw new Error("tar | socat receiver failed");
  await sh("sync", ["-f", dest]);
  const seconds = (performance.now() - t0) / 1000;
  check(tree, dest, "tar|socat");
  return seconds;
}

const trees: Tree[] = [];
if (which.includes("4k")) trees.push(generated("10k×4KiB", Number(process.env.XFER_BENCH_4K ?? 10_000), 4096, 100));
if (which.includes("1k")) trees.push(generated("2k×1KiB", Number(process.env.XFER_BENCH_1K ?? 2_000), 1024, 100));
if (which.includes("real")) trees.push(realTree());

const rate = (t: Tree, s: number) => `${(t.files / s).toFixed(0)} files/s ${(t.bytes / 1e6 / s).toFixed(1)} MB/s`;
try {
  await startRsyncd();
  for (const tree of trees) {
    const vsRsync: number[] = [];
    const vsTar: number[] = [];
    console.log(`${tree.name}: ${tree.files} files, ${(tree.bytes / 1e6).toFixed(1)} MB`);
    for (let i = 0; i < rounds; i++) {
      // Rotate who goes first, so no contender always inherits the disk's leftovers.
      const order = [runXfer, runRsync, runTarSocat];
      for (let k = 0; k < i % 3; k++) order.push(order.shift()!);
      const t = new Map<string, number>();
      for (const f of order) t.set(f.name, await f(tree));
      const [x, r, s] = [t.get("runXfer")!, t.get("runRsync")!, t.get("runTarSocat")!];
      vsRsync.push(r / x);
      vsTar.push(s / x);
      console.log(
        `  round ${i + 1}: xfer ${x.toFixed(2)} s (${rate(tree, x)}), rsync daemon ${r.toFixed(2)} s (${rate(tree, r)}), tar|socat+sync ${s.toFixed(2)} s (${rate(tree, s)})`,
      );
    }
    console.log(
      `  median speed ratio over ${rounds} rounds: xfer/rsync ${median(vsRsync).toFixed(2)}, xfer/(tar|socat+sync) ${median(vsTar).toFixed(2)}`,
    );
    // This tree's copies go before the next tree (inodes run out on a small volume otherwise).
    for (const d of readdirSync(work))
      if (d.startsWith("dest-")) await rm(join(work, d), { recursive: true, force: true });
    await sh("sync", []);
  }
} finally {
  rsyncd?.kill();
  await rm(work, { recursive: true, force: true });
}
