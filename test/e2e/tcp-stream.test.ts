/** The real CLI, two processes, loopback TCP: what a user does, checked byte for byte. */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { encodeControlFrame } from "../../src/core/protocol/frames.ts";
import { SESSION_PROTOCOL_VERSION } from "../../src/core/protocol/messages.ts";
import { run, sendAndWait, startReceiver, tempDir } from "../helpers/cli.ts";
import { offerMessages } from "../helpers/offer.ts";
import { sealedConnect, sealedTalk } from "../helpers/sealed-client.ts";
import { ourPart } from "../helpers/tools.ts";

const random = (n: number) => {
  const b = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) crypto.getRandomValues(b.subarray(at, Math.min(n, at + 65536)));
  return b;
};

async function sameBytes(a: string, b: string) {
  expect(Buffer.compare(await readFile(a), await readFile(b))).toBe(0);
}

describe("tcp-stream end to end", () => {
  test("one file arrives verified, both sides report the same hash", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    await writeFile(join(src.path, "hello.txt"), "hello, world\n");
    const recv = await startReceiver(dst.path, ["--once"]);
    const sent = await sendAndWait([join(src.path, "hello.txt"), `127.0.0.1:${recv.port}`]);
    expect(sent.code).toBe(0);
    expect(await recv.exited).toBe(0);
    await sameBytes(join(src.path, "hello.txt"), join(dst.path, "hello.txt"));
    const sDone = sent.events.find((e) => e.event === "done")!;
    const rDone = recv.events.find((e) => e.event === "done")!;
    expect(sDone.hash).toBe(rDone.hash);
    expect(sDone).toMatchObject({ files: 1, failed: 0, bytes: 13 });
  });

  test("a folder tree keeps structure, empty folders, modes and mtimes; symlinks are skipped", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const tree = join(src.path, "tree");
    await mkdir(join(tree, "a/b/c"), { recursive: true });
    await mkdir(join(tree, "empty"));
    await writeFile(join(tree, "a/one.bin"), random(70_000));
    await writeFile(join(tree, "a/b/two.txt"), "two");
    await writeFile(join(tree, "a/b/c/run.sh"), "#!/bin/sh\n");
    await writeFile(join(tree, "zero"), "");
    await chmod(join(tree, "a/b/c/run.sh"), 0o751);
    await utimes(join(tree, "a/b/two.txt"), 1_600_000_000, 1_600_000_000);
    await Bun.write(join(tree, "target"), "t");
    await import("node:fs/promises").then((fs) => fs.symlink(join(tree, "target"), join(tree, "link")));
    const recv = await startReceiver(dst.path, ["--once"]);
    const sent = await sendAndWait([tree, `127.0.0.1:${recv.port}`]);
    expect(sent.code).toBe(0);
    expect(await recv.exited).toBe(0);
    for (const f of ["a/one.bin", "a/b/two.txt", "a/b/c/run.sh", "zero", "target"])
      await sameBytes(join(tree, f), join(dst.path, "tree", f));
    expect((await stat(join(dst.path, "tree/empty"))).isDirectory()).toBe(true);
    expect((await stat(join(dst.path, "tree/a/b/c/run.sh"))).mode & 0o777).toBe(0o751);
    expect(Math.round((await stat(join(dst.path, "tree/a/b/two.txt"))).mtimeMs / 1000)).toBe(1_600_000_000);
    expect(existsSync(join(dst.path, "tree/link"))).toBe(false);
    expect(sent.events.some((e) => e.event === "warning" && String(e.message).includes("symbolic link"))).toBe(true);
  });

  test("several files and an empty file in one session", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const names = ["a.bin", "b.bin", "empty"];
    await writeFile(join(src.path, "a.bin"), random(1_000_000));
    await writeFile(join(src.path, "b.bin"), random(12_345));
    await writeFile(join(src.path, "empty"), "");
    const recv = await startReceiver(dst.path, ["--once"]);
    const sent = await sendAndWait([...names.map((n) => join(src.path, n)), `127.0.0.1:${recv.port}`]);
    expect(sent.code).toBe(0);
    expect(await recv.exited).toBe(0);
    for (const n of names) await sameBytes(join(src.path, n), join(dst.path, n));
    expect(sent.events.filter((e) => e.event === "file-done").length).toBe(3);
  });

  test("a 100 MiB random file", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    await writeFile(join(src.path, "big"), random(100 * 1024 * 1024));
    const recv = await startReceiver(dst.path, ["--once"]);
    const sent = await sendAndWait([join(src.path, "big"), `127.0.0.1:${recv.port}`]);
    expect(sent.code).toBe(0);
    expect(await recv.exited).toBe(0);
    await sameBytes(join(src.path, "big"), join(dst.path, "big"));
  }, 60_000);

  test("standard input to standard output", async () => {
    const payload = random(3_000_000);
    const recv = run(["recv", "--stdout", "--listen", "127.0.0.1:0", "--verbose"], { rawStdout: true });
    const chunks: Buffer[] = [];
    recv.proc.stdout!.on("data", (d: Buffer) => chunks.push(d));
    const port = await new Promise<number>((res, rej) => {
      const t = setInterval(() => {
        const m = /listening on 127\.0\.0\.1:(\d+)/.exec(recv.stderr());
        if (m) {
          clearInterval(t);
          res(Number(m[1]));
        }
      }, 20);
      setTimeout(() => rej(new Error(recv.stderr())), 10_000);
    });
    const send = run(["send", "--json", "-", "--name", "piped.bin", `127.0.0.1:${port}`], { stdin: "pipe" });
    send.proc.stdin!.end(payload);
    expect(await send.exited).toBe(0);
    expect(await recv.exited).toBe(0);
    expect(Buffer.compare(Buffer.concat(chunks), Buffer.from(payload))).toBe(0);
  });

  test("an existing file is not replaced without --overwrite; an identical one is skipped", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    await writeFile(join(src.path, "f"), "new content");
    await writeFile(join(dst.path, "f"), "old");
    let recv = await startReceiver(dst.path, ["--once"]);
    let sent = await sendAndWait([join(src.path, "f"), `127.0.0.1:${recv.port}`]);
    expect(sent.code).toBe(4);
    expect(await recv.exited).toBe(4);
    expect(await readFile(join(dst.path, "f"), "utf8")).toBe("old");
    expect(sent.events.find((e) => e.event === "error")?.message).toContain("--overwrite");

    recv = await startReceiver(dst.path, ["--once", "--overwrite"]);
    sent = await sendAndWait([join(src.path, "f"), `127.0.0.1:${recv.port}`]);
    expect(sent.code).toBe(0);
    expect(await recv.exited).toBe(0);
    expect(await readFile(join(dst.path, "f"), "utf8")).toBe("new content");

    recv = await startReceiver(dst.path, ["--once"]);
    sent = await sendAndWait([join(src.path, "f"), `127.0.0.1:${recv.port}`]);
    expect(sent.code).toBe(0);
    expect(await recv.exited).toBe(0);
    expect(sent.events.find((e) => e.event === "file-done")).toMatchObject({ skipped: true });

    // Same size, different bytes: refused per file, the existing file stays.
    await writeFile(join(src.path, "f"), "NEW CONTENT");
    recv = await startReceiver(dst.path, ["--once"]);
    sent = await sendAndWait([join(src.path, "f"), `127.0.0.1:${recv.port}`]);
    expect(sent.code).toBe(4);
    await recv.exited;
    expect(await readFile(join(dst.path, "f"), "utf8")).toBe("new content");
  });

  test("resume after the receiver is killed mid-transfer continues from the part on disk", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const size = 256 * 1024 * 1024;
    await writeFile(join(src.path, "big"), random(size));
    const part = join(dst.path, "big.xfer-part");
    const recv = await startReceiver(dst.path, ["--once"]);
    const send = run(["send", "--json", join(src.path, "big"), `127.0.0.1:${recv.port}`]);
    // Kill as soon as some, but not all, data is on the receiver's disk.
    for (let i = 0; i < 4000; i++) {
      const s = existsSync(part) ? (await stat(part)).size : 0;
      if (s > 8 * 1024 * 1024) break;
      await Bun.sleep(2);
    }
    recv.proc.kill("SIGKILL");
    expect(await recv.exited).toBe(137);
    expect(await send.exited).toBe(3);
    const kept = (await stat(part)).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(size);
    expect(existsSync(join(dst.path, "big"))).toBe(false);

    const again = await startReceiver(dst.path, ["--once"]);
    const sent = await sendAndWait([join(src.path, "big"), `127.0.0.1:${again.port}`]);
    expect(sent.code).toBe(0);
    expect(await again.exited).toBe(0);
    const done = sent.events.find((e) => e.event === "file-done")!;
    expect(done.resumedFrom as number).toBeGreaterThan(0);
    expect(done.resumedFrom as number).toBeLessThanOrEqual(kept);
    const transferred = sent.events.find((e) => e.event === "done")!.bytes as number;
    expect(transferred).toBe(size - (done.resumedFrom as number));
    // Both sides count one total, the resumed part shown as already there.
    const last = (events: typeof sent.events) => events.filter((e) => e.event === "progress").at(-1);
    const agreed = { bytes: size, totalBytes: size, alreadyThere: done.resumedFrom };
    expect(last(sent.events)).toMatchObject(agreed);
    expect(last(again.events)).toMatchObject(agreed);
    await sameBytes(join(src.path, "big"), join(dst.path, "big"));
  }, 60_000);

  test("a part whose bytes differ from the source is sent again from zero", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const content = random(500_000);
    await writeFile(join(src.path, "f"), content);
    await ourPart(dst.path, "f", 200_000);
    const recv = await startReceiver(dst.path, ["--once"]);
    const sent = await sendAndWait([join(src.path, "f"), `127.0.0.1:${recv.port}`]);
    expect(sent.code).toBe(0);
    await recv.exited;
    expect(sent.events.find((e) => e.event === "file-done")).toMatchObject({ resumedFrom: 0 });
    await sameBytes(join(src.path, "f"), join(dst.path, "f"));
  });

  test("the receiver keeps the part and reports when the sender vanishes", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    await writeFile(join(src.path, "big"), random(256 * 1024 * 1024));
    const recv = await startReceiver(dst.path, ["--once"]);
    const send = run(["send", "--json", join(src.path, "big"), `127.0.0.1:${recv.port}`]);
    await recv.waitFor((e) => e.event === "file-start");
    send.proc.kill("SIGKILL");
    expect(await recv.exited).toBe(3);
    expect(recv.events.find((e) => e.event === "error")).toMatchObject({ code: "peer-gone" });
    expect(existsSync(join(dst.path, "big.xfer-part"))).toBe(true);
    expect(existsSync(join(dst.path, "big"))).toBe(false);
  }, 30_000);
});

describe("bad input", () => {
  test("hostile names from a client speaking the protocol directly are refused, nothing is written", async () => {
    await using dst = await tempDir();
    for (const path of ["../escape", "/abs/path", "a/../../b", "C:/win", "x\u0001y", "ok/../../.."]) {
      const recv = await startReceiver(dst.path, ["--once"]);
      const replies = await sealedTalk(recv.port, [
        {
          type: "hello",
          protocol: "xfer",
          version: SESSION_PROTOCOL_VERSION,
          role: "sender",
          software: "hostile-test",
        },
        ...offerMessages([{ path, kind: "file", size: 4, mode: 0o644, mtimeMs: 0 }]),
      ]);
      expect(replies.map((r) => r.type)).toEqual(["hello", "reject"]);
      expect(replies[1]).toMatchObject({ code: "unsafe-name" });
      expect(await recv.exited).toBe(4);
    }
    expect(await Array.fromAsync(new Bun.Glob("**/*").scan({ cwd: dst.path, dot: true }))).toEqual([]);
  });

  test("garbage instead of a session is a protocol error, and the receiver survives it", async () => {
    await using dst = await tempDir();
    const recv = await startReceiver(dst.path);
    await new Promise<void>((res) => {
      const s = connect(recv.port, "127.0.0.1", () => s.end(Buffer.from("GET / HTTP/1.1\r\n\r\n")));
      s.on("close", () => res());
      s.on("error", () => res());
    });
    await recv.waitFor((e) => e.event === "error" && e.code === "protocol");
    recv.proc.kill("SIGTERM");
    expect(await recv.exited).toBe(130);
  });

  test("a version mismatch gets a clear error", async () => {
    await using dst = await tempDir();
    const recv = await startReceiver(dst.path, ["--once"]);
    // Inside an authenticated session (a newer session protocol under the same handshake).
    const replies = await sealedTalk(recv.port, [
      { type: "hello", protocol: "xfer", version: 99, role: "sender", software: "xfer/99" },
    ]);
    expect(replies[0]).toMatchObject({ type: "error", code: "version" });
    expect(String(replies[0]?.message)).toContain("v99");
    expect(await recv.exited).toBe(4);
  });

  test("connection refused, unknown flags, missing sources and unknown transports each have their exit code", async () => {
    await using src = await tempDir();
    await writeFile(join(src.path, "f"), "x");
    const refused = await sendAndWait([join(src.path, "f"), "127.0.0.1:1"]);
    expect(refused.code).toBe(3);
    expect(refused.events.find((e) => e.event === "error")).toMatchObject({ code: "refused" });
    expect((await sendAndWait(["--bogus", join(src.path, "f"), "127.0.0.1:1"])).code).toBe(2);
    expect((await sendAndWait([join(src.path, "missing"), "127.0.0.1:1"])).code).toBe(6);
    expect((await sendAndWait(["--via", "nope", join(src.path, "f"), "127.0.0.1:1"])).code).toBe(2);
    expect((await sendAndWait([join(src.path, "f"), "127.0.0.1:99999"])).code).toBe(2);
  });
});

describe("silent peers", () => {
  test("a peer that goes silent without closing is given up after --idle-timeout", async () => {
    await using dst = await tempDir();
    const recv = await startReceiver(dst.path, ["--once", "--idle-timeout", "2"]);
    const started = Date.now();
    // Authenticate, say hello, then nothing: the connection stays open, as with a peer behind a blackout.
    const conn = await sealedConnect(recv.port);
    await conn.write(
      encodeControlFrame(
        JSON.stringify({
          type: "hello",
          protocol: "xfer",
          version: SESSION_PROTOCOL_VERSION,
          role: "sender",
          software: "t",
        }),
      ),
    );
    expect(await recv.exited).toBe(3);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThan(1900);
    expect(elapsed).toBeLessThan(6000);
    expect(recv.events.find((e) => e.event === "error")).toMatchObject({ code: "timeout" });
    conn.destroy();
  });
});
