/** What the end-to-end tests and drills share: reproducible content, a process's memory, a TCP path they can slow down and cut. */
import { readFile } from "node:fs/promises";
import { createServer, type Socket, connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { seededRandom } from "../../sim/rng.ts";
import { ROOT } from "./cli.ts";

/** Seeded pseudo-random bytes: incompressible, the same on every run. */
export function randomBytes(n: number, seed: number): Uint8Array {
  const r = seededRandom(seed);
  const out = new Uint8Array(n);
  const view = new Uint32Array(out.buffer, 0, n >>> 2);
  for (let i = 0; i < view.length; i++) view[i] = (r() * 2 ** 32) >>> 0;
  return out;
}

/** Resident memory of a process, in MB (Linux; 0 where it cannot be read). */
export async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** A TCP proxy on 127.0.0.1 that forwards at a bounded rate and can go dark (nothing forwarded). */
export async function tcpProxy(targetPort: number, bytesPerSec: number) {
  const pairs: [Socket, Socket][] = [];
  let dark = false;
  const pump = (from: Socket, to: Socket) => {
    // One chunk at a time, in order; the end is passed on only after the last chunk went through.
    let queue = Promise.resolve();
    from.on("data", (chunk: Buffer) => {
      from.pause();
      queue = queue.then(async () => {
        while (dark) await Bun.sleep(20);
        await Bun.sleep((chunk.byteLength / bytesPerSec) * 1000);
        await new Promise<void>((r) => to.write(chunk, () => r()));
        from.resume();
      });
    });
    from.on("end", () => void queue.then(() => to.end()));
    from.on("error", () => to.destroy());
  };
  const server = createServer((client) => {
    const upstream = tcpConnect(targetPort, "127.0.0.1");
    pairs.push([client, upstream]);
    pump(client, upstream);
    pump(upstream, client);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as { port: number }).port,
    set dark(v: boolean) {
      dark = v;
    },
    close() {
      for (const pair of pairs) for (const socket of pair) socket.destroy();
      server.close();
    },
  };
}

/**
 * A part of `size` bytes (all 7s) under `dir`, as an interrupted receiver leaves it: made by another
 * process that has ended, so its record of the part is adopted (a live process's never is).
 */
export async function ourPart(dir: string, name: string, size: number): Promise<void> {
  const script = `
    const { ReceiveDir } = await import(${JSON.stringify(join(ROOT, "src/core/receive/receive-dir.ts"))});
    const entry = { path: ${JSON.stringify(name)}, kind: "file", size: null, mode: 0o644, mtimeMs: 1e12 };
    const sink = await new ReceiveDir(${JSON.stringify(dir)}, { overwrite: false }).openFile(entry, 0, null);
    await sink.write(new Uint8Array(${size}).fill(7));
    await sink.abandon();`;
  const child = Bun.spawn([process.execPath, "-e", script], { stderr: "inherit" });
  if ((await child.exited) !== 0) throw new Error("could not make a part");
}
