/**
 * Drills: the network goes dark, the receiver is frozen, the source changes under the sender, many
 * senders at once. Traffic only on loopback, through proxies this test runs.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { appendFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run, sendAndWait, startReceiver, tempDir } from "../helpers/cli.ts";
import { startLossyProxy } from "../helpers/lossy-udp-proxy.ts";
import { randomBytes, rssMb, tcpProxy } from "../helpers/tools.ts";

setDefaultTimeout(90_000);

describe("blackouts", () => {
  /** A link the test can cut: udp-reliable through the lossy proxy, tcp-stream through the TCP proxy. */
  const LINKS = [
    {
      via: "udp-reliable",
      args: ["--via", "udp-reliable", "--rate", "40mbit"],
      size: 12 << 20,
      open: async (port: number) => {
        const p = await startLossyProxy(port, { seed: 3, toTarget: { delayMs: 5 }, toClient: { delayMs: 5 } });
        return {
          port: p.port,
          dark: (on: boolean) => {
            p.blackout = on;
          },
          close: () => p.close(),
        };
      },
    },
    {
      via: "tcp-stream",
      args: [],
      size: 8 << 20,
      open: async (port: number) => {
        const p = await tcpProxy(port, 4 << 20);
        return {
          port: p.port,
          dark: (on: boolean) => {
            p.dark = on;
          },
          close: () => p.close(),
        };
      },
    },
  ];

  test.each(LINKS)(
    "$via: nothing gets through for 10 s mid-transfer, and the transfer goes on by itself",
    async (link) => {
      await using src = await tempDir();
      await using dst = await tempDir();
      const content = randomBytes(link.size, link.via.length);
      await writeFile(join(src.path, "b.bin"), content);
      const recv = await startReceiver(dst.path, ["--once"]);
      const path = await link.open(recv.port);
      try {
        const sending = sendAndWait([...link.args, join(src.path, "b.bin"), `127.0.0.1:${path.port}`]);
        await recv.waitFor((e) => e.event === "file-start");
        await Bun.sleep(600);
        path.dark(true);
        await Bun.sleep(10_000);
        path.dark(false);
        const sent = await sending;
        expect(sent.code, sent.stderr).toBe(0);
        expect(await recv.exited).toBe(0);
        expect(Buffer.compare(await readFile(join(dst.path, "b.bin")), Buffer.from(content))).toBe(0);
      } finally {
        path.close();
      }
    },
  );

  test("a blackout longer than the idle timeout ends both sides clearly (exit 3) and leaves a resumable part", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const content = randomBytes(8 << 20, 3);
    await writeFile(join(src.path, "b.bin"), content);
    const recv = await startReceiver(dst.path, ["--once", "--idle-timeout", "2"]);
    const proxy = await tcpProxy(recv.port, 4 << 20);
    try {
      const sending = sendAndWait(["--idle-timeout", "2", join(src.path, "b.bin"), `127.0.0.1:${proxy.port}`]);
      await recv.waitFor((e) => e.event === "file-start");
      await Bun.sleep(500);
      proxy.dark = true;
      const sent = await sending;
      expect(sent.code).toBe(3);
      expect(String(sent.events.find((e) => e.event === "error")?.message)).toContain("silent");
      expect(await recv.exited).toBe(3);
      expect(existsSync(join(dst.path, "b.bin"))).toBe(false);
      expect(existsSync(join(dst.path, "b.bin.xfer-part"))).toBe(true);
    } finally {
      proxy.close();
    }
    // After the blackout, the same command resumes.
    const again = await startReceiver(dst.path, ["--once"]);
    const resumed = await sendAndWait([join(src.path, "b.bin"), `127.0.0.1:${again.port}`]);
    expect(resumed.code).toBe(0);
    expect(Number(resumed.events.find((e) => e.event === "file-done")?.resumedFrom)).toBeGreaterThan(0);
    expect(Buffer.compare(await readFile(join(dst.path, "b.bin")), Buffer.from(content))).toBe(0);
  });
});

describe("progress", () => {
  test("a transfer longer than ten idle timeouts, on which the sender hears only keep-alives, is not cut", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const content = randomBytes(12 << 20, 6);
    await writeFile(join(src.path, "slow.bin"), content);
    const recv = await startReceiver(dst.path, ["--once", "--idle-timeout", "1"]);
    const proxy = await tcpProxy(recv.port, 1 << 20);
    try {
      const started = Date.now();
      const sent = await sendAndWait(["--idle-timeout", "1", join(src.path, "slow.bin"), `127.0.0.1:${proxy.port}`]);
      expect(sent.code, JSON.stringify(sent.events.filter((e) => e.event === "error"))).toBe(0);
      expect(Date.now() - started).toBeGreaterThan(10_000);
      expect(await recv.exited).toBe(0);
    } finally {
      proxy.close();
    }
  });
});

describe("a frozen receiver", () => {
  test.each(["tcp-stream", "udp-reliable"])(
    "%s: SIGSTOP for 6 s, the sender waits with bounded memory, then it completes",
    async (via) => {
      await using src = await tempDir();
      await using dst = await tempDir();
      const content = randomBytes(160 << 20, 4);
      await writeFile(join(src.path, "b.bin"), content);
      const recv = await startReceiver(dst.path, ["--once"]);
      const sender = run(["send", "--json", "--via", via, join(src.path, "b.bin"), `127.0.0.1:${recv.port}`]);
      await recv.waitFor((e) => e.event === "file-start");
      recv.proc.kill("SIGSTOP");
      let peak = 0;
      for (let i = 0; i < 30; i++) {
        peak = Math.max(peak, await rssMb(sender.proc.pid!));
        await Bun.sleep(200);
      }
      recv.proc.kill("SIGCONT");
      expect(await sender.exited).toBe(0);
      expect(await recv.exited).toBe(0);
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThan(300);
      expect(Buffer.compare(await readFile(join(dst.path, "b.bin")), Buffer.from(content))).toBe(0);
    },
  );
});

describe("the source changes under the sender", () => {
  test("appended to while being sent: a clear error, nothing published; the next run sends the new content", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const path = join(src.path, "log.bin");
    await writeFile(path, randomBytes(8 << 20, 5));
    const recv = await startReceiver(dst.path);
    const proxy = await tcpProxy(recv.port, 8 << 20);
    try {
      const sender = run(["send", "--json", path, `127.0.0.1:${proxy.port}`]);
      await recv.waitFor((e) => e.event === "file-start");
      await appendFile(path, "more lines\n");
      expect(await sender.exited).toBe(6);
      expect(String(sender.events.find((e) => e.event === "error")?.message)).toContain("changed while being sent");
      expect(existsSync(join(dst.path, "log.bin"))).toBe(false);
    } finally {
      proxy.close();
    }
    const again = await sendAndWait([path, `127.0.0.1:${recv.port}`]);
    expect(again.code).toBe(0);
    expect(Buffer.compare(await readFile(join(dst.path, "log.bin")), await readFile(path))).toBe(0);
    recv.proc.kill();
  });
});

describe("many at once", () => {
  test("20 concurrent senders over mixed transports, some killed and run again: all verified, receiver under 300 MB", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const recv = await startReceiver(dst.path);
    const vias = ["tcp-stream", "udp-reliable", "udp-raw"];
    const contents = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const c = randomBytes((2 << 20) + i * 4096, 100 + i);
        await writeFile(join(src.path, `f${i}.bin`), c);
        return c;
      }),
    );
    const args = (i: number) => {
      const via = vias[i % 3]!;
      const rate = via === "tcp-stream" ? [] : ["--rate", "80mbit"];
      return ["send", "--json", "--via", via, ...rate, join(src.path, `f${i}.bin`), `127.0.0.1:${recv.port}`];
    };
    let peak = 0;
    const sampling = setInterval(() => void rssMb(recv.proc.pid!).then((mb) => (peak = Math.max(peak, mb))), 100);
    try {
      const first = contents.map((_, i) => run(args(i)));
      // Kill a few mid-way (udp-raw ones cannot resume; they are sent again in full).
      await Bun.sleep(400);
      for (const i of [1, 4, 5, 9]) first[i]!.proc.kill("SIGKILL");
      const codes = await Promise.all(first.map((s) => s.exited));
      const again = await Promise.all(
        codes.map((code, i) => (code === 0 ? null : run(args(i)).exited)).map(async (p) => (p === null ? 0 : await p)),
      );
      expect(again).toEqual(contents.map(() => 0));
    } finally {
      clearInterval(sampling);
    }
    for (const [i, c] of contents.entries())
      expect(Buffer.compare(await readFile(join(dst.path, `f${i}.bin`)), Buffer.from(c))).toBe(0);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThan(300);
    recv.proc.kill();
  });
});
