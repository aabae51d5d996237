/**
 * udp-reliable with the real CLI, two processes over loopback UDP: clean, through a seeded lossy
 * proxy, against garbage datagrams, with a dead port, and sharing the receiver's port with TCP.
 */
import { describe, expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { seededRandom } from "../../sim/rng.ts";
import { closedUdpPort, run, sendAndWait, startReceiver, tempDir } from "../helpers/cli.ts";
import { startLossyProxy } from "../helpers/lossy-udp-proxy.ts";
import { randomBytes } from "../helpers/tools.ts";

async function expectSame(a: string, b: string): Promise<void> {
  expect(Buffer.compare(await readFile(a), await readFile(b))).toBe(0);
}

const VIA = ["--via", "udp-reliable"];

describe("udp-reliable end to end", () => {
  test("a file arrives verified and both sides report transport stats", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    await writeFile(join(src.path, "a.bin"), randomBytes(3_000_000, 1));
    const recv = await startReceiver(dst.path, ["--once", ...VIA]);
    const sent = await sendAndWait([...VIA, join(src.path, "a.bin"), `127.0.0.1:${recv.port}`]);
    expect(sent.code).toBe(0);
    expect(await recv.exited).toBe(0);
    await expectSame(join(src.path, "a.bin"), join(dst.path, "a.bin"));
    const stats = sent.events.filter((e) => e.event === "stats" && e.transport === "udp-reliable");
    expect(stats.length).toBeGreaterThan(0);
    expect(stats.at(-1)).toMatchObject({ state: "closed", lostPackets: expect.any(Number), rttMs: expect.any(Number) });
  }, 30_000);

  test("50 MiB through a proxy dropping 5% each way (plus duplicates and reordering) arrives verified", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    await writeFile(join(src.path, "big.bin"), randomBytes(50 * 1024 * 1024, 2));
    const recv = await startReceiver(dst.path, ["--once", ...VIA]);
    const impairment = { loss: 0.05, duplicate: 0.01, reorder: 0.02, reorderDelayMs: 3 };
    const proxy = await startLossyProxy(recv.port, { seed: 42, toTarget: impairment, toClient: impairment });
    try {
      const sent = await sendAndWait([...VIA, join(src.path, "big.bin"), `127.0.0.1:${proxy.port}`]);
      expect(sent.code, sent.stderr).toBe(0);
      expect(await recv.exited).toBe(0);
      await expectSame(join(src.path, "big.bin"), join(dst.path, "big.bin"));
      expect(proxy.toTarget.dropped).toBeGreaterThan(0);
      const last = sent.events.filter((e) => e.event === "stats").at(-1) as Record<string, number>;
      // Loss was seen and repaired by retransmission, without resending everything.
      expect(last.lostPackets).toBeGreaterThan(0);
      expect(last.retransmittedBytes).toBeLessThan(50 * 1024 * 1024 * 0.25);
    } finally {
      proxy.close();
    }
  }, 120_000);

  test("survives a 3 s blackout mid-transfer", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    await writeFile(join(src.path, "b.bin"), randomBytes(8 * 1024 * 1024, 3));
    const recv = await startReceiver(dst.path, ["--once", ...VIA]);
    // A slow link (a few MB/s) so the blackout lands mid-transfer.
    const proxy = await startLossyProxy(recv.port, { seed: 7, toTarget: { delayMs: 20 }, toClient: { delayMs: 20 } });
    try {
      const sending = sendAndWait([...VIA, "--rate", "16mbit", join(src.path, "b.bin"), `127.0.0.1:${proxy.port}`]);
      await recv.waitFor((e) => e.event === "file-start");
      await Bun.sleep(1000);
      proxy.blackout = true;
      await Bun.sleep(3000);
      proxy.blackout = false;
      const sent = await sending;
      expect(sent.code, sent.stderr).toBe(0);
      expect(await recv.exited).toBe(0);
      await expectSame(join(src.path, "b.bin"), join(dst.path, "b.bin"));
    } finally {
      proxy.close();
    }
  }, 60_000);

  test("garbage and spoofed datagrams at a live receiver are dropped and change nothing", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    await writeFile(join(src.path, "c.bin"), randomBytes(4 * 1024 * 1024, 4));
    const recv = await startReceiver(dst.path, ["--once", ...VIA]);
    const noise = createSocket("udp4");
    const r = seededRandom(9);
    let stop = false;
    const spray = (async () => {
      while (!stop) {
        for (let i = 0; i < 50; i++) {
          const n = 1 + Math.floor(r() * 1500);
          const d = randomBytes(n, Math.floor(r() * 1e9));
          // Half of them look like ours (magic byte, version 2, any type) to reach the parser.
          if (r() < 0.5) {
            d[0] = 0x55;
            if (n > 1) d[1] = 0x20 | Math.floor(r() * 6);
          }
          noise.send(d, recv.port, "127.0.0.1");
        }
        await Bun.sleep(2);
      }
    })();
    try {
      const sent = await sendAndWait([...VIA, join(src.path, "c.bin"), `127.0.0.1:${recv.port}`]);
      expect(sent.code, sent.stderr).toBe(0);
      expect(await recv.exited).toBe(0);
      await expectSame(join(src.path, "c.bin"), join(dst.path, "c.bin"));
    } finally {
      stop = true;
      await spray;
      noise.close();
    }
  }, 60_000);

  test("nothing listening: a clear error and the network exit code, at once", async () => {
    await using src = await tempDir();
    await writeFile(join(src.path, "d.txt"), "x");
    const port = await closedUdpPort();
    const started = Date.now();
    const sent = await sendAndWait([...VIA, join(src.path, "d.txt"), `127.0.0.1:${port}`]);
    expect(sent.code).toBe(3);
    expect(Date.now() - started).toBeLessThan(5000);
    const err = sent.events.find((e) => e.event === "error");
    expect(String(err?.message)).toContain("port unreachable");
  }, 30_000);

  test("a receiver listening on every transport serves TCP and UDP on the same port number", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    await writeFile(join(src.path, "e.txt"), "over udp\n");
    await writeFile(join(src.path, "f.txt"), "over tcp\n");
    const recv = run(["recv", dst.path, "--listen", "127.0.0.1:0", "--json"]);
    const first = await recv.waitFor((e) => e.event === "listening");
    const port = first.port as number;
    try {
      const udp = await sendAndWait([...VIA, join(src.path, "e.txt"), `127.0.0.1:${port}`]);
      expect(udp.code, udp.stderr).toBe(0);
      const tcp = await sendAndWait(["--via", "tcp-stream", join(src.path, "f.txt"), `127.0.0.1:${port}`]);
      expect(tcp.code, tcp.stderr).toBe(0);
      expect(await readFile(join(dst.path, "e.txt"), "utf8")).toBe("over udp\n");
      expect(await readFile(join(dst.path, "f.txt"), "utf8")).toBe("over tcp\n");
      const ports = recv.events.filter((e) => e.event === "listening").map((e) => e.port);
      expect(new Set(ports).size).toBe(1);
    } finally {
      recv.proc.kill("SIGINT");
      await recv.exited;
    }
  }, 30_000);
});
