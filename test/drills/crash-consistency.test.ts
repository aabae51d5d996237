/**
 * Drill: the receiver killed at random moments while many small files finish, so kills land around
 * verification, fdatasync and rename. After every kill, whatever is under a final name is complete
 * and identical to its source; everything else is a part file. Then the same command completes.
 * `XFER_DRILL_KILLS=20 bun test test/drills/crash-consistency.test.ts` for the full count.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { seededRandom } from "../../sim/rng.ts";
import { run, startReceiver, tempDir } from "../helpers/cli.ts";

const KILLS = Number(process.env.XFER_DRILL_KILLS ?? 3);
const FILES = 150;
setDefaultTimeout(60_000 + KILLS * 10_000);

describe.each(["tcp-stream", "udp-reliable"])("crash consistency, %s", (via) => {
  test(`the receiver killed ${KILLS} times while files finish: final names hold only verified files`, async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const random = seededRandom(via.length);
    const sources = new Map<string, Buffer>();
    for (let i = 0; i < FILES; i++) {
      const b = Buffer.alloc(96 * 1024 + i * 512, i);
      b.writeUInt32BE((i * 2654435761) >>> 0, 0);
      sources.set(`f${String(i).padStart(3, "0")}.bin`, b);
      await writeFile(join(src.path, `f${String(i).padStart(3, "0")}.bin`), b);
    }
    const args = (port: number) => [
      "send",
      "--json",
      "--via",
      via,
      "--idle-timeout",
      "3",
      join(src.path),
      `127.0.0.1:${port}`,
    ];
    const tree = join(dst.path, src.path.split("/").pop()!);
    let checkedFinal = 0;
    for (let k = 0; k < KILLS; k++) {
      const recv = await startReceiver(dst.path);
      const sender = run(args(recv.port));
      await recv.waitFor((e) => e.event === "file-done", 20_000).catch(() => {});
      await Bun.sleep(Math.floor(random() * 300));
      recv.proc.kill("SIGKILL");
      await recv.exited;
      sender.proc.kill("SIGKILL");
      await sender.exited;
      for (const name of await readdir(tree).catch(() => [] as string[])) {
        if (name.endsWith(".xfer-part")) continue;
        const expected = sources.get(name);
        expect(expected, `unexpected file '${name}' after a kill`).toBeDefined();
        expect(Buffer.compare(await readFile(join(tree, name)), expected!), `'${name}' is not its source`).toBe(0);
        checkedFinal++;
      }
    }
    const recv = await startReceiver(dst.path);
    const last = run(args(recv.port));
    expect(await last.exited).toBe(0);
    for (const [name, content] of sources) expect(Buffer.compare(await readFile(join(tree, name)), content)).toBe(0);
    expect((await readdir(tree)).filter((n) => n.endsWith(".xfer-part"))).toEqual([]);
    expect(checkedFinal).toBeGreaterThan(0);
    recv.proc.kill();
  });
});
