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
import { seededRandom } from "../../sim/rng.ts";
import { type Event, run, startReceiver, tempDir } from "../helpers/cli.ts";
import { randomBytes } from "../helpers/tools.ts";

const KILLS = Number(process.env.XFER_DRILL_KILLS ?? 2);
setDefaultTimeout(60_000 + KILLS * 20_000);

/** Per transport: how big, and how fast, so that a kill lands mid-transfer on loopback. */
const CASES = [
  { via: "tcp-stream", size: 192 << 20, extra: [] as string[] },
  { via: "udp-reliable", size: 48 << 20, extra: ["--rate", "240mbit"] },
] as const;

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

/** The k-th kill lands in the k-th slice of the file, somewhere random within it. */
const killPoint = (size: number, k: number, r: number) => Math.floor((size * (k + 0.2 + 0.6 * r)) / (KILLS + 1));

/** One line of figures per drill (docs/RELIABILITY.md quotes the full runs). */
function report(what: string, size: number, reruns: { killedAt: number; resumedFrom: number; ms: number }[]) {
  const resent = reruns.reduce((n, r) => n + Math.max(0, r.killedAt - r.resumedFrom), 0);
  const ms = reruns.map((r) => r.ms).sort((a, b) => a - b);
  console.log(
    `drill ${what}: ${reruns.length} kills of a ${size >> 20} MiB transfer, all resumed, ${resent} bytes of the part re-sent, ` +
      `time to resume median ${ms[ms.length >> 1]} ms, max ${ms[ms.length - 1]} ms`,
  );
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
    /** Per rerun: where the part stood at the kill, where the rerun started, how long until it did. */
    const reruns: { killedAt: number; resumedFrom: number; ms: number }[] = [];
    let launched = 0;
    let last = run(args);
    for (let k = 0; k < KILLS; k++) {
      killedAt = await partReaches(part, killPoint(size, k, random()));
      last.proc.kill("SIGKILL");
      await last.exited;
      launched = Date.now();
      last = run(args);
      const start = await last.waitFor((e) => e.event === "file-start", 20_000);
      reruns.push({ killedAt, resumedFrom: Number(start.offset), ms: Date.now() - launched });
    }
    expect(await last.exited).toBe(0);
    const done = fileDone(last.events)!;
    // Every run after a kill picked up where the part stood when the sender died.
    for (const r of reruns) expect(r.resumedFrom).toBeGreaterThanOrEqual(r.killedAt);
    expect(sentBytes(last.events)).toBe(size - Number(done.resumedFrom));
    report(`${via} sender`, size, reruns);
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
    const reruns: { killedAt: number; resumedFrom: number; ms: number }[] = [];
    const send = (port: number) =>
      // A short idle timeout: over UDP nothing tells the sender its peer died, it must notice the silence.
      run([
        "send",
        "--json",
        "--via",
        via,
        "--idle-timeout",
        "3",
        ...extra,
        join(src.path, "big.bin"),
        `127.0.0.1:${port}`,
      ]);
    let recv = await startReceiver(dst.path);
    let sender = send(recv.port);
    for (let k = 0; k < KILLS; k++) {
      killedAt = await partReaches(part, killPoint(size, k, random()));
      recv.proc.kill("SIGKILL");
      await recv.exited;
      expect(await sender.exited).toBe(3);
      // What a killed receiver left: only the part, never the final name.
      expect(existsSync(join(dst.path, "big.bin"))).toBe(false);
      const launched = Date.now();
      recv = await startReceiver(dst.path);
      sender = send(recv.port);
      const start = await sender.waitFor((e) => e.event === "file-start", 20_000);
      reruns.push({ killedAt, resumedFrom: Number(start.offset), ms: Date.now() - launched });
    }
    expect(await sender.exited).toBe(0);
    // A killed receiver may lose what was still in its page cache only if the machine died too; the
    // part it left is a clean prefix, and a rerun resumes from (nearly) where it stood.
    for (const r of reruns) expect(r.resumedFrom).toBeGreaterThan(0);
    report(`${via} receiver`, size, reruns);
    expect(Buffer.compare(await readFile(join(dst.path, "big.bin")), Buffer.from(content))).toBe(0);
    recv.proc.kill();
    await recv.exited;
  });
});
