/**
 * The relay through the real CLI, on loopback: `xfer relay`, then `xfer recv --relay` and
 * `xfer send --relay` as child processes. Either side starts first; a wrong code fails both and
 * writes nothing, and what the relay carried holds no file name or content; the relay's limits
 * refuse floods and oversized rooms with their reason, and cut a sender that lied about its size.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { connect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { DENO, type Event, type Running, run, sendAndWait, tempDir } from "../helpers/cli.ts";
import { randomBytes } from "../helpers/tools.ts";

const NO_ENV_CODE = { env: { XFER_CODE: "" } };
const started: Running[] = [];
afterAll(() => {
  for (const r of started) r.proc.kill("SIGKILL");
});

async function startRelayProcess(extra: string[] = [], runtime?: string[]) {
  const r = run(["relay", "--listen", "127.0.0.1:0", "--json", ...extra], { runtime });
  started.push(r);
  const listening = await r.waitFor((e) => e.event === "relay-listening", 30_000);
  return { ...r, port: listening.port as number, at: `127.0.0.1:${listening.port}` };
}

/** Forwards to the relay and keeps every byte either way: all that the relay itself ever sees. */
async function recordingProxy(targetPort: number) {
  const recorded: Buffer[] = [];
  const sockets: Socket[] = [];
  const server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect({ port: targetPort, host: "127.0.0.1", allowHalfOpen: true });
    sockets.push(client, upstream);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      from.on("data", (chunk: Buffer) => {
        recorded.push(Buffer.from(chunk));
        to.write(chunk);
      });
      from.on("end", () => to.end());
      from.on("error", () => to.destroy());
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    at: `127.0.0.1:${(server.address() as { port: number }).port}`,
    recorded: () => Buffer.concat(recorded),
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

function recvAt(relay: string, dir: string, extra: string[] = [], env: Record<string, string> = { XFER_CODE: "" }) {
  const r = run(["recv", dir, "--relay", relay, "--json", ...extra], { env });
  started.push(r);
  return r;
}

const rendezvous = (r: Running) => r.waitFor((e) => e.event === "rendezvous" && e.waiting === true);
const pathOf = (events: Event[]) => events.find((e) => e.event === "path");

describe("relay", () => {
  test("receiver first: its generated code and printed command bring the sender; on one machine they then connect directly", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const relay = await startRelayProcess();
    const data = randomBytes(2_000_000, 19);
    await writeFile(join(src.path, "photo.bin"), data);
    await writeFile(join(src.path, "notes.txt"), "hello relay\n");
    const recv = recvAt(relay.at, dst.path);
    const shown = await rendezvous(recv);
    const code = shown.code as string;
    expect(shown.generated).toBe(true);
    expect(shown.room).toBe(code.split("-")[0]);
    expect(shown.command).toBe(`xfer send --code ${code} --relay ${relay.at} <files>`);
    const sent = await sendAndWait(
      ["--code", code, "--relay", relay.at, join(src.path, "photo.bin"), join(src.path, "notes.txt")],
      NO_ENV_CODE,
    );
    expect(sent.code, sent.stderr).toBe(0);
    expect(await recv.exited).toBe(0);
    expect(Buffer.compare(await readFile(join(dst.path, "photo.bin")), data)).toBe(0);
    expect(await readFile(join(dst.path, "notes.txt"), "utf8")).toBe("hello relay\n");
    for (const events of [sent.events, recv.events]) {
      expect(pathOf(events)).toMatchObject({ path: "direct" });
      expect(pathOf(events)!.via as string).toStartWith("127.0.0.1:");
      expect(pathOf(events)!.rttMs as number).toBeGreaterThan(0);
    }
    // The sender found the receiver waiting: it joined a full room and printed no command to type.
    expect(sent.events.find((e) => e.event === "rendezvous")).toMatchObject({ waiting: false, generated: false });
    // The relay carried the two handshakes and the path messages, not the files.
    const rooms = await relay.waitFor((e) => e.event === "relay-room" && e.outcome === "closed");
    expect(rooms.bytes as number).toBeLessThan(10_000);
  }, 30_000);

  test("sender first, code from XFER_RELAY and no destination, --relay-only: the receiver joins with the printed code, all through the relay", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const relay = await startRelayProcess();
    const data = randomBytes(500_000, 7);
    await writeFile(join(src.path, "a.bin"), data);
    const send = run(["send", "--json", "--relay-only", join(src.path, "a.bin")], {
      env: { XFER_CODE: "", XFER_RELAY: relay.at },
    });
    started.push(send);
    const shown = await rendezvous(send);
    expect(shown.command).toBe(`xfer recv --code ${shown.code} --relay ${relay.at} [folder]`);
    const recv = recvAt(relay.at, dst.path, ["--code", shown.code as string]);
    expect(await send.exited, send.stderr()).toBe(0);
    expect(await recv.exited, recv.stderr()).toBe(0);
    expect(Buffer.compare(await readFile(join(dst.path, "a.bin")), data)).toBe(0);
    for (const events of [send.events, recv.events])
      expect(pathOf(events)).toMatchObject({ path: "relayed", via: relay.at });
    const rooms = await relay.waitFor((e) => e.event === "relay-room" && e.outcome === "closed");
    expect(rooms.bytes as number).toBeGreaterThan(data.byteLength);
  }, 30_000);

  test("the relay killed once the direct path is up: the transfer goes on and completes", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const relay = await startRelayProcess();
    const data = randomBytes(30_000_000, 11);
    await writeFile(join(src.path, "big.bin"), data);
    const recv = recvAt(relay.at, dst.path);
    const shown = await rendezvous(recv);
    const send = run(
      ["send", "--json", "--code", shown.code as string, "--relay", relay.at, join(src.path, "big.bin")],
      {
        env: { XFER_CODE: "" },
      },
    );
    started.push(send);
    await send.waitFor((e) => e.event === "path" && e.path === "direct");
    relay.proc.kill("SIGKILL");
    expect(await relay.exited).toBe(137);
    expect(await send.exited, send.stderr()).toBe(0);
    expect(await recv.exited, recv.stderr()).toBe(0);
    expect(Buffer.compare(await readFile(join(dst.path, "big.bin")), data)).toBe(0);
  }, 30_000);

  test("a wrong code: both sides fail (exit 7), nothing is written, the relay saw no name and no content", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const relay = await startRelayProcess();
    const proxy = await recordingProxy(relay.port);
    try {
      const name = "secret-plans-for-the-relay.txt";
      const content = "the content the relay must never see ".repeat(100);
      await writeFile(join(src.path, name), content);
      const recv = recvAt(proxy.at, dst.path, ["--code", "42-right-words-only-here", "--relay-only"]);
      await rendezvous(recv);
      const sent = await sendAndWait(
        ["--code", "42-wrong-words-typed-here", "--relay", proxy.at, join(src.path, name)],
        NO_ENV_CODE,
      );
      expect(sent.code, sent.stderr).toBe(7);
      expect(await recv.exited).toBe(7);
      expect(await readdir(dst.path)).toEqual([]);
      const seen = proxy.recorded();
      expect(seen.byteLength).toBeGreaterThan(100); // the joins and the handshake went through it
      expect(seen.includes(Buffer.from(name))).toBe(false);
      expect(seen.includes(Buffer.from("secret-plans"))).toBe(false);
      expect(seen.includes(Buffer.from("must never see"))).toBe(false);
      expect(seen.includes(Buffer.from("right-words"))).toBe(false);
      expect(seen.includes(Buffer.from("wrong-words"))).toBe(false);
    } finally {
      proxy.close();
    }
  }, 30_000);

  test("the right code through the same recording relay: the files arrive, and still no name or content on the way", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const relay = await startRelayProcess();
    const proxy = await recordingProxy(relay.port);
    try {
      const name = "holiday-itinerary.txt";
      const content = "meet at the old lighthouse at noon ".repeat(200);
      await writeFile(join(src.path, name), content);
      const recv = recvAt(proxy.at, dst.path, ["--code", "42-right-words-only-here", "--relay-only"]);
      await rendezvous(recv);
      const sent = await sendAndWait(
        ["--code", "42-right-words-only-here", "--relay-only", "--relay", proxy.at, join(src.path, name)],
        NO_ENV_CODE,
      );
      expect(sent.code, sent.stderr).toBe(0);
      expect(await recv.exited).toBe(0);
      expect(await readFile(join(dst.path, name), "utf8")).toBe(content);
      const seen = proxy.recorded();
      expect(seen.byteLength).toBeGreaterThan(content.length);
      expect(seen.includes(Buffer.from("holiday-itinerary"))).toBe(false);
      expect(seen.includes(Buffer.from("old lighthouse"))).toBe(false);
      expect(seen.includes(Buffer.from("right-words"))).toBe(false);
    } finally {
      proxy.close();
    }
  }, 30_000);

  test("a room flood from one address is refused past --per-address, with the relay's reason (exit 3)", async () => {
    await using dst = await tempDir();
    const relay = await startRelayProcess(["--per-address", "3"]);
    const waiting: Running[] = [];
    for (let i = 1; i <= 3; i++) {
      const r = recvAt(relay.at, dst.path, ["--code", `${100 + i}-flood-room-code-here`]);
      waiting.push(r);
      await rendezvous(r);
    }
    const refused = recvAt(relay.at, dst.path, ["--code", "200-flood-room-code-here"]);
    expect(await refused.exited).toBe(3);
    expect(refused.events.at(-1)).toMatchObject({ event: "error", code: "refused" });
    expect(refused.events.at(-1)!.message as string).toMatch(/address-limit/);
    // A peer that leaves gives its place back (loopback is one address, the sender's too), and the
    // rooms already open are unharmed: one of them still pairs and completes.
    waiting[2]!.proc.kill("SIGINT");
    expect(await waiting[2]!.exited).toBe(130);
    await relay.waitFor((e) => e.event === "relay-room" && e.outcome === "left");
    await using src = await tempDir();
    await writeFile(join(src.path, "x.txt"), "x");
    const sent = await sendAndWait(
      ["--code", "101-flood-room-code-here", "--relay", relay.at, join(src.path, "x.txt")],
      NO_ENV_CODE,
    );
    expect(sent.code, sent.stderr).toBe(0);
    expect(await waiting[0]!.exited).toBe(0);
    waiting[1]!.proc.kill("SIGINT");
  }, 30_000);

  test("rooms past --max-rooms, a taken room, and a missing password are refused with their reasons", async () => {
    await using dst = await tempDir();
    const relay = await startRelayProcess(["--max-rooms", "1", "--password", "hunter22"]);
    const pw = ["--relay-password", "hunter22"];
    const first = recvAt(relay.at, dst.path, ["--code", "5-one-room-only-here", ...pw]);
    await rendezvous(first);
    const full = recvAt(relay.at, dst.path, ["--code", "6-one-room-only-here", ...pw]);
    expect(await full.exited).toBe(3);
    expect(full.events.at(-1)!.message as string).toMatch(/\(full\)/);
    const taken = recvAt(relay.at, dst.path, ["--code", "5-another-pair-same-number", ...pw]);
    expect(await taken.exited).toBe(3);
    expect(taken.events.at(-1)!.message as string).toMatch(/room-taken/);
    const noPassword = recvAt(relay.at, dst.path, ["--code", "5-one-room-only-here"]);
    expect(await noPassword.exited).toBe(3);
    expect(noPassword.events.at(-1)!.message as string).toMatch(/password/);
    first.proc.kill("SIGINT");
    expect(await first.exited).toBe(130);
  }, 30_000);

  test("over quota: a declared size past --room-bytes is refused at once; an undeclared one (stdin) is cut, nothing published", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const relay = await startRelayProcess(["--room-bytes", "64k"]);
    await writeFile(join(src.path, "big.bin"), randomBytes(200_000, 3));
    const early = await sendAndWait(
      ["--code", "77-quota-room-code-here", "--relay", relay.at, join(src.path, "big.bin")],
      NO_ENV_CODE,
    );
    expect(early.code, early.stderr).toBe(3);
    expect(early.events.at(-1)!.message as string).toMatch(/at most 65536 bytes.*\(quota\)/);

    // Standard input has no size to declare: the relay counts, and cuts both sides past its limit.
    const recv = recvAt(relay.at, dst.path, ["--code", "78-quota-room-code-here", "--relay-only"]);
    await rendezvous(recv);
    const send = run(
      [
        "send",
        "--json",
        "--relay-only",
        "--code",
        "78-quota-room-code-here",
        "--relay",
        relay.at,
        "-",
        "--name",
        "s.bin",
      ],
      {
        stdin: "pipe",
        env: { XFER_CODE: "" },
      },
    );
    started.push(send);
    send.proc.stdin!.on("error", () => {});
    send.proc.stdin!.end(Buffer.from(randomBytes(4_000_000, 4)));
    expect(await send.exited).toBe(3);
    expect(await recv.exited).toBe(3);
    expect((await readdir(dst.path)).filter((n) => n === "s.bin")).toEqual([]);
    await relay.waitFor((e) => e.event === "relay-room" && e.outcome === "cut");
  }, 30_000);

  test("--via udp-reliable through the relay: the session moves to a punched UDP path (udp-reliable), not TCP", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const relay = await startRelayProcess();
    const data = randomBytes(3_000_000, 1903);
    await writeFile(join(src.path, "u.bin"), data);
    const recv = recvAt(relay.at, dst.path);
    const code = (await rendezvous(recv)).code as string;
    const sent = await sendAndWait(
      ["--via", "udp-reliable", "--code", code, "--relay", relay.at, join(src.path, "u.bin")],
      NO_ENV_CODE,
    );
    expect(sent.code, sent.stderr).toBe(0);
    expect(await recv.exited).toBe(0);
    expect(Buffer.compare(await readFile(join(dst.path, "u.bin")), data)).toBe(0);
    for (const events of [sent.events, recv.events])
      expect(pathOf(events)).toMatchObject({ path: "direct-udp", transport: "udp-reliable" });
    const rooms = await relay.waitFor((e) => e.event === "relay-room" && e.outcome === "closed");
    expect(rooms.bytes as number).toBeLessThan(10_000);
  }, 30_000);

  test("--via udp-raw through a relay has no punched path: exit 2, saying it needs a direct address", async () => {
    await using src = await tempDir();
    await writeFile(join(src.path, "a.txt"), "a");
    const sent = await sendAndWait(
      ["--via", "udp-raw", "--relay", "127.0.0.1:9", join(src.path, "a.txt")],
      NO_ENV_CODE,
    );
    expect(sent.code).toBe(2);
    expect(sent.events.at(-1)!.message as string).toMatch(/--via udp-raw needs a direct address/);
  });

  test("no destination, no relay, nobody answering on the (loopback) network: exit 2, saying what to do", async () => {
    await using src = await tempDir();
    await writeFile(join(src.path, "a.txt"), "a");
    // The query goes to loopback only (XFER_DISCOVERY), under a number no receiver here has.
    const sent = await sendAndWait([join(src.path, "a.txt")], {
      env: { XFER_RELAY: "", XFER_DISCOVERY: "127.0.0.1", XFER_CODE: "913-nobody-has-this-number" },
    });
    expect(sent.code).toBe(2);
    const message = sent.events.at(-1)!.message as string;
    expect(message).toContain("host[:port]");
    expect(message).toContain("xfer relay");
    expect(message).toContain("--relay");
  });

  test("a code with no leading number cannot go through a relay (its words would name the room): exit 2", async () => {
    await using src = await tempDir();
    await writeFile(join(src.path, "a.txt"), "a");
    const sent = await sendAndWait([
      "--code",
      "correct-horse-battery-staple",
      "--relay",
      "127.0.0.1:9",
      join(src.path, "a.txt"),
    ]);
    expect(sent.code).toBe(2);
    expect(sent.events.at(-1)!.message as string).toMatch(/start with a number/);
  });

  test.skipIf(!existsSync(DENO[0] as string))(
    "under Deno: a relay and a receiver on Deno, a sender on Bun, through the relay and then direct",
    async () => {
      await using src = await tempDir();
      await using dst = await tempDir();
      const relay = await startRelayProcess([], DENO);
      const data = randomBytes(1_000_000, 5);
      await writeFile(join(src.path, "d.bin"), data);
      for (const relayOnly of [true, false]) {
        const flags = relayOnly ? ["--relay-only"] : [];
        const recv = run(["recv", dst.path, "--relay", relay.at, "--json", "--overwrite", ...flags], {
          runtime: DENO,
          env: { XFER_CODE: "" },
        });
        started.push(recv);
        const shown = await recv.waitFor((e) => e.event === "rendezvous" && e.waiting === true, 30_000);
        const sent = await sendAndWait(
          ["--code", shown.code as string, "--relay", relay.at, join(src.path, "d.bin")],
          NO_ENV_CODE,
        );
        expect(sent.code, sent.stderr).toBe(0);
        expect(await recv.exited, recv.stderr()).toBe(0);
        expect(Buffer.compare(await readFile(join(dst.path, "d.bin")), data)).toBe(0);
        expect(pathOf(recv.events)).toMatchObject({ path: relayOnly ? "relayed" : "direct" });
      }
    },
    60_000,
  );
});
