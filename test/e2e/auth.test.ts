/**
 * The code, the handshake and the sealed session through the real CLI: a generated code works on
 * every transport; a wrong code fails both sides with exit 7 and writes nothing; a path that flips
 * one bit, or replays a recorded session, gets nothing published.
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { connect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { SESSION_PROTOCOL_VERSION } from "../../src/core/protocol/messages.ts";
import { sendAndWait, startReceiver, tempDir } from "../helpers/cli.ts";
import { startLossyProxy } from "../helpers/lossy-udp-proxy.ts";

const TRANSPORTS = ["tcp-stream", "udp-reliable", "udp-raw"];
const NO_ENV_CODE = { env: { XFER_CODE: "" } };

function bytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) crypto.getRandomValues(b.subarray(at, Math.min(n, at + 65536)));
  return b;
}

/** A TCP relay on loopback that can record what the sender sent and flip one bit of it. */
async function tcpRelay(targetPort: number, opts: { flipAt?: number } = {}) {
  const recorded: Buffer[] = [];
  const sockets: Socket[] = [];
  const server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    sockets.push(client, upstream);
    let seen = 0;
    client.on("data", (chunk: Buffer) => {
      recorded.push(Buffer.from(chunk));
      const at = opts.flipAt;
      if (at !== undefined && seen <= at && at < seen + chunk.byteLength) {
        chunk = Buffer.from(chunk);
        chunk[at - seen] = (chunk[at - seen] as number) ^ 0x01;
      }
      seen += chunk.byteLength;
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => client.write(chunk));
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as { port: number }).port,
    recorded: () => Buffer.concat(recorded),
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe("codes and authentication", () => {
  for (const via of TRANSPORTS) {
    test(`${via}: the receiver's generated code, typed any way, opens the session; the receiver then exits`, async () => {
      await using src = await tempDir();
      await using dst = await tempDir();
      const data = bytes(300_000);
      await writeFile(join(src.path, "a.bin"), data);
      const recv = await startReceiver(dst.path, ["--via", via], NO_ENV_CODE);
      const shown = await recv.waitFor((e) => e.event === "code");
      const code = shown.code as string;
      expect(code).toMatch(/^\d{1,3}(-[a-z]+){4}$/);
      expect(shown.command as string).toContain(`--code ${code}`);
      // Upper case and other separators are the same code.
      const typed = code.toUpperCase().replaceAll("-", " ");
      const sent = await sendAndWait(
        ["--via", via, "--code", typed, join(src.path, "a.bin"), `127.0.0.1:${recv.port}`],
        NO_ENV_CODE,
      );
      expect(sent.code, sent.stderr).toBe(0);
      // A generated code is for one transfer: the receiver is done without --once.
      expect(await recv.exited).toBe(0);
      expect(Buffer.compare(await readFile(join(dst.path, "a.bin")), data)).toBe(0);
    }, 30_000);

    test(`${via}: a wrong code fails both sides with exit 7 and nothing is written`, async () => {
      await using src = await tempDir();
      await using dst = await tempDir();
      await writeFile(join(src.path, "secret.txt"), "not for strangers");
      const recv = await startReceiver(dst.path, ["--via", via, "--once", "--code", "5-right-code-words-here"]);
      const sent = await sendAndWait([
        "--via",
        via,
        "--code",
        "5-wrong-code-words-here",
        join(src.path, "secret.txt"),
        `127.0.0.1:${recv.port}`,
      ]);
      expect(sent.code, sent.stderr).toBe(7);
      expect(sent.events.find((e) => e.event === "error")?.message as string).toMatch(/wrong code/);
      expect(await recv.exited).toBe(7);
      expect(recv.events.some((e) => e.event === "offer")).toBe(false);
      expect(await readdir(dst.path)).toEqual([]);
    }, 30_000);
  }

  test("right after a wrong code the receiver refuses at once and says how long to wait", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    await writeFile(join(src.path, "f.txt"), "x");
    const recv = await startReceiver(dst.path, ["--code", "6-fixed-code-for-lockout"]);
    const to = `127.0.0.1:${recv.port}`;
    expect((await sendAndWait(["--code", "6-wrong-guess-one", join(src.path, "f.txt"), to])).code).toBe(7);
    const locked = await sendAndWait(["--code", "6-fixed-code-for-lockout", join(src.path, "f.txt"), to]);
    if (locked.code === 7)
      expect(locked.events.find((e) => e.event === "error")?.message as string).toMatch(/next attempt in/);
    await Bun.sleep(700);
    const later = await sendAndWait(["--code", "6-fixed-code-for-lockout", join(src.path, "f.txt"), to]);
    expect(later.code, later.stderr).toBe(0);
    recv.proc.kill();
  }, 30_000);

  test("--code wins over XFER_CODE; XFER_CODE alone is enough", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    await writeFile(join(src.path, "f.txt"), "x");
    const recv = await startReceiver(dst.path, ["--once"], { env: { XFER_CODE: "9-env-code-of-receiver" } });
    const sent = await sendAndWait(
      ["--code", "9 ENV code of receiver", join(src.path, "f.txt"), `127.0.0.1:${recv.port}`],
      {
        env: { XFER_CODE: "9-something-else-entirely" },
      },
    );
    expect(sent.code, sent.stderr).toBe(0);
    expect(await recv.exited).toBe(0);
  }, 30_000);

  test("a sender without any code is told how to give it (usage, exit 2)", async () => {
    const sent = await sendAndWait(["README.md", "127.0.0.1:9"], NO_ENV_CODE);
    expect(sent.code).toBe(2);
    expect(sent.events.find((e) => e.event === "error")?.message as string).toMatch(/--code|XFER_CODE/);
  });

  test("a generated code stops being accepted after 3 wrong attempts, and the receiver says so", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    await writeFile(join(src.path, "f.txt"), "x");
    const recv = await startReceiver(dst.path, [], NO_ENV_CODE);
    const { code } = (await recv.waitFor((e) => e.event === "code")) as unknown as { code: string };
    for (let i = 0; i < 3; i++) {
      // Wait out the lockout each failure starts (0.5 s, 1 s): a try inside it is refused, not counted.
      if (i > 0) await Bun.sleep(500 * 2 ** (i - 1) + 300);
      const sent = await sendAndWait([
        "--code",
        `1-guess-number-${i}-here`,
        join(src.path, "f.txt"),
        `127.0.0.1:${recv.port}`,
      ]);
      expect(sent.code).toBe(7);
    }
    expect(await recv.exited).toBe(7);
    expect(recv.events.some((e) => e.event === "error" && /no longer accepted|guessed/.test(e.message as string))).toBe(
      true,
    );
    // Even the right code is too late now: nobody listens.
    const late = await sendAndWait([
      "--code",
      code,
      "--idle-timeout",
      "2",
      join(src.path, "f.txt"),
      `127.0.0.1:${recv.port}`,
    ]);
    expect(late.code).not.toBe(0);
    expect(await readdir(dst.path)).toEqual([]);
  }, 60_000);

  test("tcp-stream: a relay that flips one bit of one record after the handshake gets nothing published", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    await writeFile(join(src.path, "a.bin"), bytes(2_000_000));
    const recv = await startReceiver(dst.path, ["--once"]);
    // Far past the ~170 bytes of handshake: inside the sealed file data.
    const relay = await tcpRelay(recv.port, { flipAt: 1_000_000 });
    try {
      const sent = await sendAndWait([join(src.path, "a.bin"), `127.0.0.1:${relay.port}`]);
      expect(sent.code).not.toBe(0);
      expect(await recv.exited).toBe(7);
      expect(recv.events.find((e) => e.event === "error")?.message as string).toMatch(/altered/);
      expect(existsSync(join(dst.path, "a.bin"))).toBe(false);
    } finally {
      relay.close();
    }
  }, 30_000);

  test("tcp-stream: a recorded session replayed to the receiver does not open", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    await using dst2 = await tempDir();
    await writeFile(join(src.path, "a.txt"), "recorded once");
    const recv = await startReceiver(dst.path, ["--once"]);
    const relay = await tcpRelay(recv.port);
    const sent = await sendAndWait([join(src.path, "a.txt"), `127.0.0.1:${relay.port}`]);
    expect(sent.code).toBe(0);
    await recv.exited;
    relay.close();
    const again = await startReceiver(dst2.path, ["--once"]);
    const replay = connect(again.port, "127.0.0.1");
    replay.on("error", () => {});
    replay.end(relay.recorded());
    expect(await again.exited).toBe(7);
    expect(await readdir(dst2.path)).toEqual([]);
  }, 30_000);

  test("udp-raw: one flipped bit in one datagram is an authentication failure on both sides", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    await writeFile(join(src.path, "b.bin"), bytes(1_000_000));
    const via = ["--via", "udp-raw", "--rate", "40mbit"];
    const recv = await startReceiver(dst.path, ["--once", ...via]);
    const proxy = await startLossyProxy(recv.port, { seed: 1, toTarget: { flipBitOf: 20, dataOnly: true } });
    try {
      const sent = await sendAndWait([...via, join(src.path, "b.bin"), `127.0.0.1:${proxy.port}`]);
      expect(sent.code).toBe(7);
      expect(await recv.exited).toBe(7);
      expect(existsSync(join(dst.path, "b.bin"))).toBe(false);
    } finally {
      proxy.close();
    }
  }, 30_000);

  test("a peer of the old protocol (v1, no code) is told which versions met", async () => {
    await using dst = await tempDir();
    const recv = await startReceiver(dst.path, ["--once", "--via", "tcp-stream"]);
    const hello = new TextEncoder().encode(
      JSON.stringify({
        type: "hello",
        protocol: "xfer",
        version: 1,
        role: "sender",
        software: "xfer/0.0",
        features: [],
      }),
    );
    const frame = Buffer.alloc(5 + hello.byteLength);
    frame[0] = 1;
    frame.writeUInt32BE(hello.byteLength, 1);
    frame.set(hello, 5);
    const sock = connect(recv.port, "127.0.0.1");
    const reply = new Promise<string>((res) => {
      let got = "";
      sock.on("data", (d) => (got += d.subarray(5).toString()));
      sock.on("close", () => res(got));
      sock.on("error", () => res(got));
    });
    sock.write(frame);
    expect(await reply).toMatch(new RegExp(`"code":"version".*v1.*v${SESSION_PROTOCOL_VERSION}`));
    expect(await recv.exited).toBe(4);
  }, 30_000);

  test("before authentication the receiver reads only small frames", async () => {
    await using dst = await tempDir();
    const recv = await startReceiver(dst.path, ["--once", "--via", "tcp-stream"]);
    const sock = connect(recv.port, "127.0.0.1");
    sock.on("error", () => {});
    const header = Buffer.alloc(5);
    header[0] = 3;
    header.writeUInt32BE(64 << 20, 1);
    sock.write(header);
    expect(await recv.exited).toBe(3);
    expect(recv.events.find((e) => e.event === "error")?.message as string).toMatch(/handshake/);
    sock.destroy();
  }, 30_000);

  test("an unauthenticated peer is dropped after a few seconds of silence", async () => {
    await using dst = await tempDir();
    const recv = await startReceiver(dst.path, ["--once", "--via", "tcp-stream"]);
    // Not one byte: the shared TCP listener closes it for want of a preamble, and no session starts.
    const mute = connect(recv.port, "127.0.0.1");
    mute.on("error", () => {});
    const t0 = Date.now();
    await new Promise((resolve) => mute.once("close", resolve));
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(recv.events.some((e) => e.event === "connected")).toBe(false);
    // One byte of an untagged session, then silence: the session's own deadline ends this --once receiver.
    const sock = connect(recv.port, "127.0.0.1", () => sock.write(Buffer.from([3])));
    sock.on("error", () => {});
    const t1 = Date.now();
    expect(await recv.exited).toBe(3);
    expect(Date.now() - t1).toBeLessThan(15_000);
    sock.destroy();
  }, 30_000);
});
