/**
 * A real `xfer recv` against a hostile sender (an authentic peer that lies): each case asserts what
 * is on the receiver's disk and what it said, not only that nothing crashed.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { chmod, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { newHasher } from "../../src/core/hashing.ts";
import { FEATURE_REFUSE } from "../../src/core/protocol/messages.ts";
import { MAX_SESSIONS_PER_HOST } from "../../src/core/session/run.ts";
import { startReceiver, tempDir } from "../helpers/cli.ts";
import { dirEntry, fileEntry, HostilePeer, hello, type Msg } from "./peer.ts";

// Each case starts a real receiver (about a second on a loaded machine) and plays a whole session.
setDefaultTimeout(20_000);

const blake3 = async (bytes: Uint8Array) => {
  const h = await newHasher();
  h.update(bytes);
  return h.digest();
};
const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

describe("a hostile sender", () => {
  test("sending the same file twice in one session is refused; nothing but the first verified bytes is ever published", async () => {
    await using dst = await tempDir();
    const recv = await startReceiver(dst.path);
    const peer = await HostilePeer.afterHello(recv.port);
    const first = bytes(100, 1);
    await peer.offer([fileEntry("a.bin", 100)]);
    await peer.expect("accept");
    await peer.send({ type: "file", index: 0, offset: 0 });
    await peer.sendData(first);
    await peer.send({ type: "file-end", index: 0, size: 100, hash: await blake3(first) });
    // Verified files wait for their batch to be made durable, so file-ok may come later: do not wait.
    await peer.send({ type: "file", index: 0, offset: 0 });
    await peer.sendData(bytes(100, 2)).catch(() => {}); // the receiver may already have hung up
    let refusal = await peer.next();
    while (refusal?.type === "file-ok") refusal = await peer.next();
    expect(refusal?.type).toBe("error");
    expect(String(refusal?.message)).toContain("second time");
    // The first copy is published or still a complete part; the second never touched either.
    for (const name of ["a.bin", "a.bin.xfer-part"])
      if (existsSync(join(dst.path, name))) expect(await readFile(join(dst.path, name))).toEqual(Buffer.from(first));
    peer.destroy();
    recv.proc.kill();
  });

  test("more bytes than offered are refused; nothing is published", async () => {
    await using dst = await tempDir();
    const recv = await startReceiver(dst.path);
    const peer = await HostilePeer.afterHello(recv.port);
    await peer.offer([fileEntry("a.bin", 10)]);
    await peer.expect("accept");
    await peer.send({ type: "file", index: 0, offset: 0 });
    await peer.sendData(bytes(11, 3));
    expect(String((await peer.expect("error")).message)).toContain("more than the 10 bytes");
    expect(existsSync(join(dst.path, "a.bin"))).toBe(false);
    peer.destroy();
    recv.proc.kill();
  });

  test("an offered folder that already exists keeps its mode and time; folders it creates get the offered ones", async () => {
    await using dst = await tempDir();
    await mkdir(join(dst.path, "old"));
    await chmod(join(dst.path, "old"), 0o755);
    const before = await stat(join(dst.path, "old"));
    const recv = await startReceiver(dst.path);
    const peer = await HostilePeer.afterHello(recv.port);
    await peer.offer([dirEntry("old", 0o777), dirEntry("new", 0o750)]);
    await peer.expect("accept");
    await peer.send({ type: "done" });
    expect((await peer.expect("summary")).files).toBe(0);
    const after = await stat(join(dst.path, "old"));
    expect(after.mode & 0o777).toBe(0o755);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect((await stat(join(dst.path, "new"))).mode & 0o777).toBe(0o750);
    peer.destroy();
    recv.proc.kill();
  });

  test("an existing file's hash is not revealed; a wrong claim of identity is refused and the file kept", async () => {
    await using dst = await tempDir();
    const secret = new TextEncoder().encode("hunter2\n");
    await writeFile(join(dst.path, "secret.txt"), secret);
    const recv = await startReceiver(dst.path);
    const peer = await HostilePeer.afterHello(recv.port);
    await peer.offer([fileEntry("secret.txt", secret.byteLength)]);
    const accept = await peer.expect("accept");
    const answer = (accept.files as Record<string, unknown>[])[0]!;
    expect(answer).toMatchObject({ offset: secret.byteLength, existing: true });
    expect(JSON.stringify(accept)).not.toContain(await blake3(secret));
    await peer.send({ type: "file", index: 0, offset: secret.byteLength });
    await peer.send({ type: "file-end", index: 0, size: secret.byteLength, hash: "0".repeat(64) });
    const verdict = await peer.expect("file-failed");
    expect(verdict).toMatchObject({ code: "exists" });
    expect(await readFile(join(dst.path, "secret.txt"))).toEqual(Buffer.from(secret));
    peer.destroy();
    recv.proc.kill();
  });

  test.each([
    ["bidi override", "invoice\u202etxt.exe"],
    ["zero-width space", "pass\u200bwd"],
    ["C1 control", "a\u009bb"],
    ["lone surrogate", "x\ud800"],
  ])("a name with a %s is refused with a reason, nothing created", async (_what, name) => {
    await using dst = await tempDir();
    const recv = await startReceiver(dst.path);
    const peer = await HostilePeer.afterHello(recv.port);
    await peer.offer([fileEntry(name, 1)]);
    const reject = await peer.expect("reject");
    expect(reject.code).toBe("unsafe-name");
    expect(await readdir(dst.path)).toEqual([]);
    peer.destroy();
    recv.proc.kill();
  });

  test("a user's own .xfer-part is not ours: never hashed, cut or resumed into, byte for byte as it was", async () => {
    await using dst = await tempDir();
    const own = crypto.getRandomValues(new Uint8Array(5000));
    await writeFile(join(dst.path, "notes.txt.xfer-part"), own);
    const recv = await startReceiver(dst.path);
    // A sender that takes refusals per file gets this one refused and the rest accepted ...
    const refusing = await HostilePeer.dial(recv.port);
    await refusing.send({ ...hello("sender"), features: [FEATURE_REFUSE] });
    await refusing.expect("hello");
    await refusing.offer([fileEntry("notes.txt", 9000), fileEntry("b.txt", 1)]);
    const accept = await refusing.expect("accept");
    expect(accept.files).toEqual([{ index: 1, offset: 0, existing: false }]);
    expect(accept.refused).toMatchObject([{ index: 0, code: "exists" }]);
    expect(String((accept.refused as Msg[])[0]?.message)).toContain("not made by this receiver");
    refusing.destroy();
    // ... one that cannot is refused whole; neither learns a hash or a size of the user's file.
    const plain = await HostilePeer.afterHello(recv.port);
    await plain.offer([fileEntry("notes.txt", 5000)]);
    const reject = await plain.expect("reject");
    expect(reject.code).toBe("exists");
    for (const answer of [accept, reject]) {
      expect(JSON.stringify(answer)).not.toContain("prefixHash");
      expect(JSON.stringify(answer)).not.toContain(await blake3(own));
    }
    plain.destroy();
    recv.proc.kill();
    await recv.exited;
    expect(Buffer.compare(await readFile(join(dst.path, "notes.txt.xfer-part")), own)).toBe(0);
  });

  test("nothing the receiver sends names its own folder", async () => {
    await using dst = await tempDir();
    await mkdir(join(dst.path, "a.bin.xfer-part")); // a folder where the part must go: the open fails
    const recv = await startReceiver(dst.path);
    const peer = await HostilePeer.afterHello(recv.port);
    await peer.offer([fileEntry("a.bin", 10)]);
    const answer = await peer.next();
    expect(answer?.type).toBe("reject");
    expect(JSON.stringify(answer)).not.toContain(dst.path);
    peer.destroy();
    recv.proc.kill();
  });

  test("a sender that only keeps the session alive is dropped after ten idle timeouts", async () => {
    await using dst = await tempDir();
    const recv = await startReceiver(dst.path, ["--idle-timeout", "1"]);
    const peer = await HostilePeer.afterHello(recv.port);
    await peer.offer([fileEntry("a.bin", 10)]);
    await peer.expect("accept");
    const pinging = setInterval(() => void peer.send({ type: "ping" }).catch(() => {}), 300);
    const started = Date.now();
    try {
      expect(await peer.waitClosed(20_000)).toBe(true);
    } finally {
      clearInterval(pinging);
    }
    expect(Date.now() - started).toBeGreaterThan(8_000);
    const failure = await recv.waitFor((e) => e.event === "error" || e.event === "warning");
    expect(String(failure.message)).toContain("no progress");
    recv.proc.kill();
  }, 30_000);

  test("one host gets at most MAX_SESSIONS_PER_HOST sessions at once; the next connection is closed at once", async () => {
    await using dst = await tempDir();
    const recv = await startReceiver(dst.path);
    const held: HostilePeer[] = [];
    for (let i = 0; i < MAX_SESSIONS_PER_HOST; i++) held.push(await HostilePeer.afterHello(recv.port));
    const ninth = await HostilePeer.dial(recv.port).then(
      (p) => p,
      () => null,
    );
    // Either the handshake could not even finish, or the connection closes straight after.
    if (ninth) expect(await ninth.waitClosed(3000)).toBe(true);
    for (const p of held) expect(p.closed).toBe(false);
    for (const p of held) p.destroy();
    recv.proc.kill();
  }, 30_000);
});
