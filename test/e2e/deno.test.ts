/**
 * The same source under Deno 2 (`--unstable-net`: UDP through Deno.listenDatagram): every built-in
 * transport end to end with both sides on Deno, and each mix with Bun (the runtimes interoperate on
 * the wire).
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BUILTIN_TRANSPORTS } from "../../plugins/builtin.ts";
import { closedUdpPort, DENO, run, sendAndWait, startReceiver, tempDir } from "../helpers/cli.ts";

const data = (n: number) => {
  const b = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) crypto.getRandomValues(b.subarray(at, Math.min(n, at + 65536)));
  return b;
};

async function transfer(transport: string, sender: string[] | undefined, receiver: string[] | undefined) {
  await using src = await tempDir();
  await using dst = await tempDir();
  const payload = data(2 * 1024 * 1024 + 3);
  await writeFile(join(src.path, "f.bin"), payload);
  const recv = await startReceiver(dst.path, ["--once", "--via", transport], { runtime: receiver });
  // Raw UDP never resends and a Deno receiver keeps the kernel's default buffer (docs/RUNTIMES.md):
  // on a busy machine it goes gently.
  const pace = transport === "udp-raw" ? ["--rate", "20mbit"] : [];
  const send = run(["send", "--json", "--via", transport, ...pace, join(src.path, "f.bin"), `127.0.0.1:${recv.port}`], {
    runtime: sender,
  });
  const code = await send.exited;
  expect(code, send.stderr()).toBe(0);
  expect(await recv.exited, recv.stderr()).toBe(0);
  expect(Buffer.compare(await readFile(join(dst.path, "f.bin")), payload)).toBe(0);
  const hashes = [send, recv].map((p) => p.events.find((e) => e.event === "done")?.hash);
  expect(hashes[0]).toBe(hashes[1]);
}

describe.skipIf(!existsSync(DENO[0] as string))("under Deno", () => {
  for (const t of BUILTIN_TRANSPORTS) {
    test(`${t.name}: Deno sender → Deno receiver`, () => transfer(t.name, DENO, DENO), 60_000);
    test(`${t.name}: Deno sender → Bun receiver`, () => transfer(t.name, DENO, undefined), 60_000);
    test(`${t.name}: Bun sender → Deno receiver`, () => transfer(t.name, undefined, DENO), 60_000);
  }

  // Neither Deno.listenDatagram nor Deno's node:dgram connects a socket in the kernel, so no ICMP port
  // unreachable reaches it: the dial fails on the handshake timeout (8 s), not at once as on Bun.
  test("udp-reliable: nothing listening, a clear error and the network exit code", async () => {
    await using src = await tempDir();
    await writeFile(join(src.path, "d.txt"), "x");
    const port = await closedUdpPort();
    const sent = await sendAndWait(["--via", "udp-reliable", join(src.path, "d.txt"), `127.0.0.1:${port}`], {
      runtime: DENO,
    });
    expect(sent.code, sent.stderr).toBe(3);
    const err = sent.events.find((e) => e.event === "error");
    expect(String(err?.message)).toContain("no udp-reliable listener answered");
  }, 30_000);
});
