/**
 * Drill: kill -9 the sender, or the receiver, at random points of a large transfer, then run the
 * same command again at once. Every drill must end with a byte-identical, verified file that was
 * resumed from the verified part, never from zero. CI runs a few kills per case; the full count
 * (docs/RELIABILITY.md) is `XFER_DRILL_KILLS=20 bun test test/drills`.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Event, run, startReceiver, tempDir } from "../helpers/cli.ts";
import { seededRandom } from "../sim/rng.ts";

const KILLS = Number(process.env.XFER_DRILL_KILLS ?? 2);
setDefaultTimeout(60_000 + KILLS * 20_000);

/** Per transport: how big, and how fast, so that a kill lands mid-transfer on loopback. */
const CASES = [
  { via: "tcp-stream", size: 192 << 20, extra: [] as string[] },
  { via: "udp-reliable", size: 48 << 20, extra: ["--rate", "240mbit"] },
] as const;

function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x;
    out[i + 1] = x >>> 8;
    out[i + 2] = x >>> 16;
    out[i + 3] = x >>> 24;
  }
  return out;
}

/** Wait until the part on the receiver holds at least `bytes` (the kill point). */
async function partReaches(path: string, bytes: number, timeoutMs = 30_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const size = existsSync(path) ? (await stat(path).catch(() => ({ size: 0 }))).size : 0;
    if (size >= bytes) return size;
    await Bun.sleep(2);
  }
  throw new Error(`the part never reached ${bytes} bytes`);
}

const fileDone = (events: Event[]) => events.find((e) => e.event === "file-done");
const sentBytes = (events: Event[]) => (events.find((e) => e.event === "done")?.bytes as number | undefined) ?? 0;

describe.each(CASES)("kill -9 and run again, $via", ({ via, size, extra }) => {
  test(`the sender, ${KILLS} times: each run resumes from the verified part, the file ends identical`, async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const content = randomBytes(size, 7);
    await writeFile(join(src.path, "big.bin"), content);
    const part = join(dst.path, "big.bin.xfer-part");
    const recv = await startReceiver(dst.path);
    const random = seededRandom(11);
    const args = ["send", "--json", "--via", via, ...extra, join(src.path, "big.bin"), `127.0.0.1:${recv.port}`];
    let killedAt = 0;
    const resumes: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      const sender = run(args);
      const point = Math.floor(killedAt + (size - killedAt) * (0.15 + 0.5 * random()));
      killedAt = await partReaches(part, point);
      sender.proc.kill("SIGKILL");
      await sender.exited;
      const started = sender.events.find((e) => e.event === "file-start");
      if (k > 0) resumes.push(Number(started?.offset ?? 0));
    }
    const last = run(args);
    expect(await last.exited).toBe(0);
    const done = fileDone(last.events)!;
    resumes.push(Number(done.resumedFrom));
    // Every run after a kill picked up at least where the part stood when the sender died.
    for (const r of resumes) expect(r).toBeGreaterThan(0);
    expect(Number(done.resumedFrom)).toBeGreaterThanOrEqual(killedAt - (8 << 20));
    expect(sentBytes(last.events)).toBe(size - Number(done.resumedFrom));
    expect(Buffer.compare(await readFile(join(dst.path, "big.bin")), Buffer.from(content))).toBe(0);
    expect(existsSync(part)).toBe(false);
    recv.proc.kill();
    await recv.exited;
  });

  test(`the receiver, ${KILLS} times: a new receiver on the same folder resumes, the file ends identical`, async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const content = randomBytes(size, 9);
    await writeFile(join(src.path, "big.bin"), content);
    const part = join(dst.path, "big.bin.xfer-part");
    const random = seededRandom(13);
    let killedAt = 0;
    for (let k = 0; k < KILLS; k++) {
      const recv = await startReceiver(dst.path);
      // A short idle timeout: over UDP nothing tells the sender its peer died, it must notice the silence.
      const sender = run([
        "send",
        "--json",
        "--via",
        via,
        "--idle-timeout",
        "3",
        ...extra,
        join(src.path, "big.bin"),
        `127.0.0.1:${recv.port}`,
      ]);
      const point = Math.floor(killedAt + (size - killedAt) * (0.15 + 0.5 * random()));
      killedAt = await partReaches(part, point);
      recv.proc.kill("SIGKILL");
      await recv.exited;
      expect(await sender.exited).toBe(3);
      // What a killed receiver left: only the part, never the final name.
      expect(existsSync(join(dst.path, "big.bin"))).toBe(false);
    }
    const kept = (await stat(part)).size;
    const recv = await startReceiver(dst.path);
    const last = run(["send", "--json", "--via", via, ...extra, join(src.path, "big.bin"), `127.0.0.1:${recv.port}`]);
    expect(await last.exited).toBe(0);
    const done = fileDone(last.events)!;
    expect(Number(done.resumedFrom)).toBeGreaterThan(0);
    expect(Number(done.resumedFrom)).toBeLessThanOrEqual(kept);
    expect(Buffer.compare(await readFile(join(dst.path, "big.bin")), Buffer.from(content))).toBe(0);
    recv.proc.kill();
    await recv.exited;
  });
});
