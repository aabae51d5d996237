/**
 * `npm run demo`: a real receiver and sender on this machine, over every registered transport,
 * each moving a freshly generated file through the real CLI and checking the result byte for byte.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
// The units the CLI's own lines use, so the heading and the result lines agree (MB, not MiB).
import { formatBytes } from "../src/cli/format.ts";

const cli = resolve(import.meta.dir, "../src/cli.ts");
const SIZE = Number(process.env.DEMO_BYTES ?? 64 * 1024 * 1024);

function xfer(args: string[], json: boolean) {
  return spawn(process.execPath, [cli, ...args], { stdio: ["ignore", json ? "pipe" : "inherit", "inherit"] });
}

function exitOf(p: ReturnType<typeof xfer>): Promise<number> {
  return new Promise((r) => p.on("exit", (c) => r(c ?? 1)));
}

async function transports(): Promise<{ name: string; reliable: boolean }[]> {
  const p = xfer(["transports", "--json"], true);
  const out: { name: string; reliable: boolean }[] = [];
  for await (const line of createInterface({ input: p.stdout! })) out.push(JSON.parse(line));
  return out;
}

const work = await mkdtemp(join(tmpdir(), "xfer-demo-"));
const src = join(work, "demo-data.bin");
const data = new Uint8Array(SIZE);
for (let at = 0; at < SIZE; at += 65536) crypto.getRandomValues(data.subarray(at, Math.min(SIZE, at + 65536)));
await writeFile(src, data);
let failures = 0;
try {
  for (const t of await transports()) {
    const dest = join(work, `received-${t.name}`);
    console.error(
      `\n=== ${t.name} (${t.reliable ? "reliable" : "unreliable"}): ${formatBytes(SIZE)} over loopback ===`,
    );
    const recv = xfer(["recv", dest, "--listen", "127.0.0.1:0", "--via", t.name, "--once", "--json"], true);
    const recvExit = exitOf(recv);
    // The receiver makes up a one-time code and prints it; the sender gives it back.
    const { port, code } = await new Promise<{ port: number; code: string }>((res, rej) => {
      let port = 0;
      createInterface({ input: recv.stdout! }).on("line", (line) => {
        const e = JSON.parse(line);
        if (e.event === "listening") port = e.port;
        if (e.event === "code") res({ port, code: e.code });
      });
      void recvExit.then((c) => rej(new Error(`receiver exited with ${c} before printing its code`)));
    });
    console.error(`receiver's code: ${code}`);
    const sendCode = await exitOf(xfer(["send", "--via", t.name, "--code", code, src, `127.0.0.1:${port}`], false));
    const recvCode = await recvExit;
    const same =
      sendCode === 0 &&
      Buffer.compare(await readFile(join(dest, "demo-data.bin")).catch(() => Buffer.alloc(0)), Buffer.from(data)) === 0;
    console.error(
      same
        ? `${t.name}: received file is byte-identical`
        : `${t.name}: FAILED (sender ${sendCode}, receiver ${recvCode})`,
    );
    if (!same && t.reliable) failures++;
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
process.exit(failures ? 1 : 0);
