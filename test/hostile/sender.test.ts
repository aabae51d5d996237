/**
 * A real `xfer send` against a hostile receiver (authentic, dishonest): the sender must never
 * report a success it was not given file by file, never hang, and never print the peer's text raw.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run, sendAndWait, tempDir } from "../helpers/cli.ts";
import { fileEntry, HostilePeer, hello, hostileReceiver } from "./peer.ts";

setDefaultTimeout(30_000);

async function withHostileReceiver(script: (peer: HostilePeer) => Promise<void>, sendArgs: string[] = []) {
  await using src = await tempDir();
  await writeFile(join(src.path, "a.bin"), new Uint8Array(1000).fill(5));
  const hostile = await hostileReceiver(script);
  try {
    return await sendAndWait([...sendArgs, join(src.path, "a.bin"), `127.0.0.1:${hostile.port}`]);
  } finally {
    await hostile.listener.close();
  }
}

/** The receiving side up to the offer: hello answered, offer read (one file: head, page, end). */
async function greet(peer: HostilePeer): Promise<void> {
  await peer.expect("hello");
  await peer.send(hello("receiver"));
  for (const part of ["offer-head", "offer-page", "offer-end"]) await peer.expect(part);
}

describe("a hostile receiver", () => {
  test("an answered page's files go out while later pages wait for their answer, before the offer's end", async () => {
    await using src = await tempDir();
    for (let i = 0; i < 10; i++) await writeFile(join(src.path, `f${i}`), "x");
    const seen: string[] = [];
    const hostile = await hostileReceiver(async (peer) => {
      await peer.expect("hello");
      await peer.send(hello("receiver"));
      await peer.expect("offer-head");
      for (let m = await peer.next(); m && m.type !== "file"; m = await peer.next()) {
        seen.push(m.type === "offer-page" ? `page ${m.first}` : m.type);
        // Pages of one entry: 0 is the folder, 1 its first file. Answered once four are in flight.
        if (m.type === "offer-page" && m.first === 3) {
          await peer.send({ type: "accept", first: 0, files: [], refused: [] });
          await peer.send({ type: "accept", first: 1, files: [{ index: 1, offset: 0 }], refused: [] });
        }
      }
      seen.push("file");
      peer.destroy();
    });
    try {
      await sendAndWait([src.path, `127.0.0.1:${hostile.port}`], { env: { XFER_PAGE_ENTRIES: "1" } });
    } finally {
      await hostile.listener.close();
    }
    expect(seen).toEqual(["page 0", "page 1", "page 2", "page 3", "page 4", "page 5", "file"]);
  });

  test("a summary claiming files it never confirmed is a protocol error, not a success", async () => {
    const sent = await withHostileReceiver(async (peer) => {
      await greet(peer);
      await peer.send({ type: "accept", first: 0, files: [{ index: 0, offset: 0 }] });
      await peer.send({ type: "summary", files: 999, bytes: 0, failed: 0 });
      await peer.waitClosed(5000);
    });
    expect(sent.code).toBe(3);
    expect(sent.events.find((e) => e.event === "error")).toMatchObject({ code: "protocol" });
    expect(sent.events.some((e) => e.event === "done")).toBe(false);
  });

  test("a resume offset beyond the file is a clean protocol error that names no local path", async () => {
    const sent = await withHostileReceiver(async (peer) => {
      await greet(peer);
      await peer.send({ type: "accept", first: 0, files: [{ index: 0, offset: 5000, prefixHash: "0".repeat(64) }] });
      await peer.waitClosed(5000);
    });
    expect(sent.code).toBe(3);
    const error = sent.events.find((e) => e.event === "error");
    expect(error).toMatchObject({ code: "protocol" });
    expect(String(error?.message)).toContain("claims 5000 bytes");
    expect(String(error?.message)).not.toContain("/tmp");
  });

  test("a receiver that only pings is given up on (ten idle timeouts), not waited for forever", async () => {
    const started = Date.now();
    const sent = await withHostileReceiver(
      async (peer) => {
        await greet(peer);
        const pinging = setInterval(() => void peer.send({ type: "ping" }).catch(() => {}), 300);
        await peer.waitClosed(25_000);
        clearInterval(pinging);
      },
      ["--idle-timeout", "1"],
    );
    expect(sent.code).toBe(3);
    expect(String(sent.events.find((e) => e.event === "error")?.message)).toContain("no progress");
    expect(Date.now() - started).toBeLessThan(25_000);
  });

  test("the receiver's text reaches the terminal escaped (no escape sequences, no bidi, no fake lines)", async () => {
    const evil = "\u001b]0;pwned\u0007\u001b]52;c;ZWNobyBoaQ==\u0007\n\u2714 12 file(s) verified\u202e";
    await using src = await tempDir();
    await writeFile(join(src.path, "a.bin"), "x");
    const hostile = await hostileReceiver(async (peer) => {
      await greet(peer);
      await peer.send({ type: "reject", code: "rejected", message: evil });
      await peer.waitClosed(5000);
    });
    const sender = run(["send", join(src.path, "a.bin"), `127.0.0.1:${hostile.port}`], { rawStdout: true });
    expect(await sender.exited).toBe(4);
    await hostile.listener.close();
    const out = sender.stderr();
    expect(out).toContain("\\u001b]0;pwned");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
    expect(out).not.toMatch(/[\u0007\u001b\u202e]/);
    expect(out.split("\n").some((line) => line.startsWith("\u2714 12 file(s) verified"))).toBe(false);
  });
});

describe("--stdout against a hostile sender", () => {
  test("no more than the offered size reaches standard output; exit 5", async () => {
    // With --stdout the events go to stderr, as JSON lines.
    const recv = run(["recv", "--stdout", "--json", "--listen", "127.0.0.1:0"], { rawStdout: true });
    let port = 0;
    const deadline = Date.now() + 15_000;
    while (!port && Date.now() < deadline) {
      port = Number(/"event":"listening"[^\n]*"port":(\d+)/.exec(recv.stderr())?.[1] ?? 0);
      await new Promise((r) => setTimeout(r, 50));
    }
    let stdout = 0;
    recv.proc.stdout!.on("data", (d: Buffer) => {
      stdout += d.byteLength;
    });
    const peer = await HostilePeer.afterHello(port);
    await peer.offer([fileEntry("x", 100)]);
    await peer.expect("accept");
    await peer.send({ type: "file", index: 0, offset: 0 });
    await peer.sendData(new Uint8Array(60).fill(1));
    await peer.sendData(new Uint8Array(60).fill(2)).catch(() => {});
    expect(await recv.exited).toBe(5);
    expect(stdout).toBeLessThanOrEqual(100);
    expect(stdout).toBe(60);
    peer.destroy();
  });
});
