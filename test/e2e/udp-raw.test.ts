/**
 * udp-raw with the real CLI over loopback: complete at no loss; through a seeded lossy proxy, a loss
 * report that matches exactly what the proxy dropped, the .xfer-part kept with its missing ranges,
 * and the exit codes with and without --allow-loss.
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LOOPBACK_PAYLOAD } from "../../plugins/udp-raw/index.ts";
import { SEALED_OVERHEAD } from "../../src/core/secure/datagram-seal.ts";
import { sendAndWait, startReceiver, tempDir } from "../helpers/cli.ts";
import { startLossyProxy } from "../helpers/lossy-udp-proxy.ts";

const VIA = ["--via", "udp-raw", "--rate", "400mbit"];
// Through the userspace proxy (one JS process forwarding), slower: it must not drop on its own.
const VIA_PROXY = ["--via", "udp-raw", "--rate", "40mbit"];
/** Session data header plus the seal (counter and tag) around every datagram. */
const DATA_HEADER = 25 + SEALED_OVERHEAD;

function bytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) crypto.getRandomValues(b.subarray(at, Math.min(n, at + 65536)));
  return b;
}

describe("udp-raw end to end", () => {
  test("no loss: the file arrives verified and the report says nothing was lost", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const data = bytes(5_000_000);
    await writeFile(join(src.path, "a.bin"), data);
    const recv = await startReceiver(dst.path, ["--once", ...VIA]);
    const sent = await sendAndWait([...VIA, join(src.path, "a.bin"), `127.0.0.1:${recv.port}`]);
    expect(sent.code, sent.stderr).toBe(0);
    expect(await recv.exited).toBe(0);
    expect(Buffer.compare(await readFile(join(dst.path, "a.bin")), data)).toBe(0);
    const report = sent.events.find((e) => e.event === "loss-report") as Record<string, number>;
    expect(report).toMatchObject({ lost: 0, duplicated: 0, corrupt: 0 });
    // On loopback udp-raw sends 16 KiB datagrams (the offer carries the size).
    expect(report.expected).toBe(Math.ceil(5_000_000 / (LOOPBACK_PAYLOAD - DATA_HEADER)));
  }, 30_000);

  test("2% loss: the report matches the proxy's drops exactly (plus any the kernel counted), the part and its missing ranges stay", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const data = bytes(3_000_000);
    await writeFile(join(src.path, "b.bin"), data);
    const recv = await startReceiver(dst.path, ["--once", ...VIA_PROXY]);
    // Loss only towards the receiver, and only of data: control datagrams are repeated, so
    // dropping them would not show in the data report. The proxy drops by seeded chance.
    const proxy = await startLossyProxy(recv.port, { seed: 5, toTarget: { loss: 0.02, dataOnly: true } });
    try {
      const kernelDropsBefore = await udpReceiveBufferDrops();
      const sent = await sendAndWait([...VIA_PROXY, join(src.path, "b.bin"), `127.0.0.1:${proxy.port}`]);
      // On a loaded machine a socket buffer may also overflow (the kernel counts those): the report
      // must account for exactly the proxy's drops plus those, nothing else.
      const kernelDrops = (await udpReceiveBufferDrops()) - kernelDropsBefore;
      expect(sent.code).toBe(5); // incomplete
      expect(await recv.exited).toBe(5);
      const report = recv.events.find((e) => e.event === "loss-report") as unknown as {
        lost: number;
        received: number;
        expected: number;
        files: { missing: [number, number][]; missingFile: string }[];
      };
      expect(report.lost).toBeGreaterThanOrEqual(proxy.toTarget.dropped);
      expect(report.lost).toBeLessThanOrEqual(proxy.toTarget.dropped + kernelDrops);
      expect(report.lost).toBeGreaterThan(0);
      expect(report.received + report.lost).toBe(report.expected);
      // Every byte outside the missing ranges is right; the ranges are what the report says.
      const part = await readFile(join(dst.path, "b.bin.xfer-part"));
      expect(existsSync(join(dst.path, "b.bin"))).toBe(false);
      const missing = report.files[0]!.missing;
      const listed = JSON.parse(await readFile(report.files[0]!.missingFile, "utf8")) as {
        missing: [number, number][];
      };
      expect(listed.missing).toEqual(missing);
      let at = 0;
      for (const [s, e] of [...missing, [data.byteLength, data.byteLength] as [number, number]]) {
        expect(Buffer.compare(part.subarray(at, s), data.subarray(at, s))).toBe(0);
        at = e;
      }
      const missingBytes = missing.reduce((n, [s, e]) => n + e - s, 0);
      expect(missingBytes).toBeGreaterThanOrEqual((report.lost - 1) * (1471 - DATA_HEADER));
    } finally {
      proxy.close();
    }
  }, 30_000);

  test("after a lossy run the same command sends only the missing ranges, and the file completes", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const data = bytes(2_000_000);
    await writeFile(join(src.path, "r.bin"), data);
    const recv = await startReceiver(dst.path, VIA_PROXY);
    const proxy = await startLossyProxy(recv.port, { seed: 8, toTarget: { loss: 0.05, dataOnly: true } });
    try {
      const lossy = await sendAndWait([...VIA_PROXY, join(src.path, "r.bin"), `127.0.0.1:${proxy.port}`]);
      expect(lossy.code).toBe(5);
    } finally {
      proxy.close();
    }
    const report = recv.events.find((e) => e.event === "loss-report") as unknown as {
      files: { missing: [number, number][] }[];
    };
    const missingBytes = report.files[0]!.missing.reduce((n, [s, e]) => n + e - s, 0);
    expect(missingBytes).toBeGreaterThan(0);
    const again = await sendAndWait([...VIA_PROXY, join(src.path, "r.bin"), `127.0.0.1:${recv.port}`]);
    expect(again.code, again.stderr).toBe(0);
    // Only what was missing crossed again (whole datagrams around each hole), not the file.
    const sentAgain = again.events.find((e) => e.event === "done")?.bytes as number;
    expect(sentAgain).toBeGreaterThanOrEqual(missingBytes);
    expect(sentAgain).toBeLessThan(data.byteLength / 2);
    expect(again.events.find((e) => e.event === "file-start")?.offset).toBe(data.byteLength - missingBytes);
    expect(Buffer.compare(await readFile(join(dst.path, "r.bin")), Buffer.from(data))).toBe(0);
    expect(existsSync(join(dst.path, "r.bin.xfer-part"))).toBe(false);
    expect(existsSync(join(dst.path, "r.bin.xfer-part.missing.json"))).toBe(false);
    recv.proc.kill();
  }, 60_000);

  test("--allow-loss: both sides exit 0, the file is saved with its holes listed beside it", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    await writeFile(join(src.path, "c.bin"), bytes(2_000_000));
    const recv = await startReceiver(dst.path, ["--once", "--allow-loss", ...VIA_PROXY]);
    const proxy = await startLossyProxy(recv.port, { seed: 6, toTarget: { loss: 0.05, dataOnly: true } });
    try {
      const sent = await sendAndWait([
        ...VIA_PROXY,
        "--allow-loss",
        join(src.path, "c.bin"),
        `127.0.0.1:${proxy.port}`,
      ]);
      expect(sent.code).toBe(0);
      expect(await recv.exited).toBe(0);
      expect((await readFile(join(dst.path, "c.bin"))).byteLength).toBe(2_000_000);
      expect(existsSync(join(dst.path, "c.bin.missing.json"))).toBe(true);
    } finally {
      proxy.close();
    }
  }, 30_000);

  test("--fec 10:2 rebuilds a 4% loss pattern it claims to survive (one loss per class)", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const data = bytes(3_000_000);
    await writeFile(join(src.path, "f.bin"), data);
    const recv = await startReceiver(dst.path, ["--once", ...VIA_PROXY]);
    // Every 25th data datagram lost: at most one per block of 20, so every class can be rebuilt.
    const proxy = await startLossyProxy(recv.port, { seed: 8, toTarget: { dropEvery: 25, dataOnly: true } });
    try {
      const sent = await sendAndWait([
        ...VIA_PROXY,
        "--fec",
        "10:2",
        join(src.path, "f.bin"),
        `127.0.0.1:${proxy.port}`,
      ]);
      expect(sent.code, sent.stderr).toBe(0);
      expect(await recv.exited).toBe(0);
      expect(Buffer.compare(await readFile(join(dst.path, "f.bin")), data)).toBe(0);
      const report = sent.events.find((e) => e.event === "loss-report") as unknown as Record<string, number>;
      // Sealed parity datagrams look like data to the proxy: some of its drops may be parity.
      expect(report.lost).toBeGreaterThan(0);
      expect(report.lost).toBeLessThanOrEqual(proxy.toTarget.dropped);
      expect(report.recovered).toBe(report.lost);
    } finally {
      proxy.close();
    }
  }, 30_000);

  test("the network's duplicates are dropped by the seal and counted exactly in the report", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const data = bytes(2_000_000);
    await writeFile(join(src.path, "d.bin"), data);
    const recv = await startReceiver(dst.path, ["--once", ...VIA_PROXY]);
    const proxy = await startLossyProxy(recv.port, { seed: 9, toTarget: { duplicate: 0.05, dataOnly: true } });
    try {
      const sent = await sendAndWait([...VIA_PROXY, join(src.path, "d.bin"), `127.0.0.1:${proxy.port}`]);
      expect(sent.code, sent.stderr).toBe(0);
      expect(await recv.exited).toBe(0);
      expect(Buffer.compare(await readFile(join(dst.path, "d.bin")), data)).toBe(0);
      const report = sent.events.find((e) => e.event === "loss-report") as unknown as Record<string, number>;
      expect(proxy.toTarget.duplicated).toBeGreaterThan(0);
      expect(report.duplicated).toBe(proxy.toTarget.duplicated);
    } finally {
      proxy.close();
    }
  }, 30_000);

  test("a folder of 80 files (an offer spanning many datagrams) arrives whole", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const tree = join(src.path, "tree");
    for (let i = 0; i < 80; i++) {
      await mkdir(join(tree, `dir-${i % 7}`), { recursive: true });
      await writeFile(join(tree, `dir-${i % 7}`, `file-with-a-long-name-${i}.bin`), bytes(1000 + i * 97));
    }
    const recv = await startReceiver(dst.path, ["--once", ...VIA]);
    const sent = await sendAndWait([...VIA, tree, `127.0.0.1:${recv.port}`]);
    expect(sent.code, sent.stderr).toBe(0);
    expect(await recv.exited).toBe(0);
    for (let i = 0; i < 80; i += 13) {
      const rel = join("tree", `dir-${i % 7}`, `file-with-a-long-name-${i}.bin`);
      expect(Buffer.compare(await readFile(join(dst.path, rel)), await readFile(join(src.path, rel)))).toBe(0);
    }
    expect(sent.events.find((e) => e.event === "done")).toMatchObject({ files: 80, failed: 0 });
  }, 30_000);

  test("standard input cannot go over datagrams: a usage error", async () => {
    const sent = await sendAndWait([...VIA, "-", "127.0.0.1:9"]);
    expect(sent.code).toBe(2);
  }, 30_000);
});

/** The kernel's count of UDP datagrams dropped for a full receive buffer, machine-wide (Linux; 0 elsewhere). */
async function udpReceiveBufferDrops(): Promise<number> {
  const snmp = await readFile("/proc/net/snmp", "utf8").catch(() => "");
  const [names, values] = snmp.split("\n").filter((l) => l.startsWith("Udp:"));
  if (!names || !values) return 0;
  return Number(values.split(/\s+/)[names.split(/\s+/).indexOf("RcvbufErrors")] ?? 0);
}
