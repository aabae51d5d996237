/** Shared helpers for benchmarks: child processes, peak memory, timing, random files. */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, writeSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { createInterface } from "node:readline";

export const CLI = resolve(import.meta.dir, "../src/cli.ts");

/** Peak resident memory of a running process, sampled from /proc until it exits (Linux). */
export function trackPeakRss(proc: ChildProcess): { peakMb: () => number } {
  let peakKb = 0;
  const timer = setInterval(async () => {
    try {
      const status = await readFile(`/proc/${proc.pid}/status`, "utf8");
      const hwm = /VmHWM:\s+(\d+)/.exec(status);
      if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
    } catch {
      // The process is gone; keep the last reading.
    }
  }, 20);
  proc.on("exit", () => clearInterval(timer));
  return { peakMb: () => peakKb / 1024 };
}

/** The exit code; also for a process that already exited (its 'exit' event will not come again). */
export function exitOf(p: ChildProcess): Promise<number> {
  if (p.exitCode !== null) return Promise.resolve(p.exitCode);
  if (p.signalCode !== null) return Promise.resolve(1);
  return new Promise((r) => p.on("exit", (c) => r(c ?? 1)));
}

/** Both sides of every benchmarked session know this code (the handshake runs as for users). */
export const BENCH_CODE = "7-bench-code-both-sides-know";

/** The CLI from source under `runtime`, or the built binary named by XFER_BIN (what users download). */
export function xfer(args: string[], runtime = process.execPath): ChildProcess {
  const stdio: ["ignore", "pipe", "inherit"] = ["ignore", "pipe", "inherit"];
  const env = { ...process.env, XFER_CODE: BENCH_CODE, XFER_DISCOVERY: "off" };
  const binary = process.env.XFER_BIN;
  return binary && runtime === process.execPath
    ? spawn(binary, args, { stdio, env })
    : spawn(runtime, [CLI, ...args], { stdio, env });
}

/** Start `xfer recv --json` and resolve with the port it listens on. */
export function listeningPort(proc: ChildProcess): Promise<number> {
  return new Promise((res, rej) => {
    createInterface({ input: proc.stdout! }).on("line", (line) => {
      const e = JSON.parse(line) as { event: string; port?: number };
      if (e.event === "listening" && e.port) res(e.port);
    });
    proc.on("exit", (c) => rej(new Error(`receiver exited (${c}) before listening`)));
  });
}

/** Write `bytes` of random data without holding them all in memory. */
export async function randomFile(path: string, bytes: number): Promise<void> {
  // Synchronous fs: a FileHandle here was once reported "closed during garbage collection" by Bun
  // long after close() had resolved, killing a benchmark run.
  const fd = openSync(path, "w");
  try {
    const chunk = new Uint8Array(1 << 20);
    for (let done = 0; done < bytes; done += chunk.byteLength) {
      for (let at = 0; at < chunk.byteLength; at += 65536) crypto.getRandomValues(chunk.subarray(at, at + 65536));
      writeSync(fd, chunk, 0, Math.min(chunk.byteLength, bytes - done));
    }
  } finally {
    closeSync(fd);
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
