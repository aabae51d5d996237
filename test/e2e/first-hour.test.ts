/**
 * What a new user types wrong in the first hour, through the real CLI: each mistake gets its exit
 * code and a message that says what to do.
 */
import { describe, expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { ROOT, run, sendAndWait, startReceiver, tempDir } from "../helpers/cli.ts";
import { pluginSource, writeFiles } from "../plugin/fixtures.ts";

const TCP_XOR = join(ROOT, "examples/plugins/tcp-xor/index.ts");

/** A loopback TCP port free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  const port = (server.address() as { port: number }).port;
  await new Promise((res) => server.close(res));
  return port;
}

async function xfer(args: string[], opts: Parameters<typeof run>[1] = {}) {
  const r = run(args, opts);
  const code = await r.exited;
  return { code, events: r.events, stderr: r.stderr() };
}

/** Resolves once `pred` holds (polled), or rejects when the process exits first. */
function until(pred: () => boolean, exited: Promise<number>, what: () => string): Promise<void> {
  return new Promise<void>((res, rej) => {
    const poll = setInterval(() => {
      if (!pred()) return;
      clearInterval(poll);
      res();
    }, 20);
    void exited.then(() => {
      clearInterval(poll);
      if (!pred()) rej(new Error(`exited first: ${what()}`));
    });
  });
}

/** Root may write anywhere: a permission case runs the CLI as nobody then (setpriv, util-linux). */
function asUnprivileged(): string[] | undefined {
  return process.getuid?.() === 0
    ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath]
    : undefined;
}

/**
 * Permission cases need a user the folder's mode applies to: as root, "nobody", who must be able to
 * read this checkout (a clone under a 0700 folder, as `mktemp -d` makes, is not). Where that cannot
 * be arranged the cases are reported as skipped, not passed.
 */
const canTestPermissions =
  process.getuid?.() !== 0 ||
  Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "test", "-r", join(ROOT, "src/cli.ts")])
    .exitCode === 0;

const errorOf = (events: Record<string, unknown>[]) => String(events.find((e) => e.event === "error")?.message);

describe("addresses", () => {
  test.each([["bare"], ["colon"]])("--listen with a %s port means that port on every interface", async (form) => {
    await using dst = await tempDir();
    const port = await freePort();
    const r = run([
      "recv",
      dst.path,
      "--json",
      "--via",
      "tcp-stream",
      "--listen",
      form === "bare" ? `${port}` : `:${port}`,
    ]);
    const listening = await r.waitFor((e) => e.event === "listening");
    expect(listening).toMatchObject({ host: "0.0.0.0", port });
    r.proc.kill("SIGTERM");
    expect(await r.exited).toBe(130);
  });

  test("a port in use says so (exit 2)", async () => {
    await using dst = await tempDir();
    const first = await startReceiver(dst.path, ["--via", "tcp-stream"]);
    const second = await xfer([
      "recv",
      dst.path,
      "--json",
      "--via",
      "tcp-stream",
      "--listen",
      `127.0.0.1:${first.port}`,
    ]);
    expect(second.code).toBe(2);
    expect(errorOf(second.events)).toContain("in use");
    first.proc.kill("SIGTERM");
    await first.exited;
  });

  test("a host name that does not resolve says so (exit 3)", async () => {
    await using src = await tempDir();
    await writeFile(join(src.path, "f"), "x");
    const r = await sendAndWait([join(src.path, "f"), "no-such-host.invalid:7878"]);
    expect(r.code).toBe(3);
    expect(errorOf(r.events)).toContain("did not resolve");
  });

  test("a forgotten destination is named instead of dialled", async () => {
    await using src = await tempDir();
    await writeFile(join(src.path, "f1"), "1");
    await writeFile(join(src.path, "f2"), "2");
    const one = await sendAndWait([join(src.path, "f1")]);
    expect(one.code).toBe(2);
    expect(errorOf(one.events)).toContain("missing the destination");
    const two = await sendAndWait([join(src.path, "f1"), join(src.path, "f2")]);
    expect(two.code).toBe(2);
    expect(errorOf(two.events)).toContain("is a local file or folder");
  });
});

describe("typing mistakes", () => {
  test("a misspelt option or command gets a 'did you mean'", async () => {
    const flag = await xfer(["send", "--vai", "udp-raw", "f", "h", "--json"]);
    expect(flag.code).toBe(2);
    expect(errorOf(flag.events)).toContain("did you mean --via?");
    const command = await xfer(["sedn", "--json"]);
    expect(command.code).toBe(2);
    expect(errorOf(command.events)).toContain("did you mean 'xfer send'?");
  });

  test("xfer help, xfer help send and xfer version work; send's help has examples and the default port", async () => {
    const help = run(["help"], { rawStdout: true });
    let out = "";
    help.proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
    });
    expect(await help.exited).toBe(0);
    expect(out).toContain("Commands:");
    const send = run(["help", "send"], { rawStdout: true });
    let sendOut = "";
    send.proc.stdout!.on("data", (d: Buffer) => {
      sendOut += d.toString();
    });
    expect(await send.exited).toBe(0);
    expect(sendOut).toContain("Examples:");
    expect(sendOut).toContain("port: 7878 unless given");
    const version = run(["version"], { rawStdout: true });
    let versionOut = "";
    version.proc.stdout!.on("data", (d: Buffer) => {
      versionOut += d.toString();
    });
    expect(await version.exited).toBe(0);
    expect(versionOut).toMatch(/^xfer\/\d+\.\d+\.\d+/);
  });

  test("--name 123 names the data 123 (it is not taken for a number)", async () => {
    await using dst = await tempDir();
    const recv = await startReceiver(dst.path, ["--once"]);
    const send = run(["send", "--json", "-", "--name", "123", `127.0.0.1:${recv.port}`], { stdin: "pipe" });
    send.proc.stdin!.end("piped bytes");
    expect(await send.exited).toBe(0);
    expect(await recv.exited).toBe(0);
    expect(await readFile(join(dst.path, "123"), "utf8")).toBe("piped bytes");
  });
});

describe("transport settings", () => {
  test("a malformed or unknown --transport-opt is a usage error on both sides, naming what is known", async () => {
    await using src = await tempDir();
    await writeFile(join(src.path, "f"), "x");
    const mtu = await sendAndWait([
      "--via",
      "udp-reliable",
      "--transport-opt",
      "mtu=abc",
      join(src.path, "f"),
      "127.0.0.1:1",
    ]);
    expect(mtu.code).toBe(2);
    expect(errorOf(mtu.events)).toContain("mtu: a whole number of bytes");
    const unknown = await sendAndWait(["--transport-opt", "colour=blue", join(src.path, "f"), "127.0.0.1:1"]);
    expect(unknown.code).toBe(2);
    expect(errorOf(unknown.events)).toContain(
      "unknown --transport-opt 'colour' for tcp-stream (known: connectTimeoutMs",
    );
    const recv = await xfer(["recv", src.path, "--json", "--listen", "127.0.0.1:0", "--transport-opt", "mtu=abc"]);
    expect(recv.code).toBe(2);
    expect(errorOf(recv.events)).toContain("--transport-opt for udp-reliable: mtu");
  });

  test("xfer plugin check takes --transport-opt: checked against the schema, then handed to every case", async () => {
    const refused = await xfer([
      "plugin",
      "check",
      join(ROOT, "plugins/udp-reliable/index.ts"),
      "--transport-opt",
      "mtu=abc",
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("--transport-opt for udp-reliable: mtu");
    // tcp-xor declares no schema: its key reaches the plugin, and a session through it still conforms.
    const passed = await xfer(["plugin", "check", TCP_XOR, "--transport-opt", "xorKey=7", "--only", "transfer-1B"]);
    expect(passed.code).toBe(0);
  });

  test("xfer transports --verbose lists each transport's settings", async () => {
    const r = await xfer(["transports", "--json"]);
    const reliable = r.events.find((e) => e.name === "udp-reliable") as unknown as { options: { key: string }[] };
    expect(reliable.options.map((o) => o.key)).toEqual(["cc", "window", "max-window", "mtu", "idle"]);
    const verbose = run(["transports", "--verbose"], { rawStdout: true });
    let out = "";
    verbose.proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
    });
    expect(await verbose.exited).toBe(0);
    expect(out).toContain("--transport-opt mtu=…");
    expect(out).toContain("--transport-opt connectTimeoutMs=…");
  });

  test("--rate over tcp-stream is refused; on a receiver where only some transports pace, a warning names the others", async () => {
    await using src = await tempDir();
    await writeFile(join(src.path, "f"), "x");
    const send = await sendAndWait(["--rate", "10mbit", join(src.path, "f"), "127.0.0.1:1"]);
    expect(send.code).toBe(2);
    expect(errorOf(send.events)).toContain("--rate does not apply to tcp-stream");
    const only = await xfer([
      "recv",
      src.path,
      "--json",
      "--listen",
      "127.0.0.1:0",
      "--via",
      "tcp-stream",
      "--rate",
      "1m",
    ]);
    expect(only.code).toBe(2);
    const mixed = await startReceiver(src.path, ["--rate", "1m"]);
    expect(mixed.events.find((e) => e.event === "warning")?.message).toContain("--rate does not apply to tcp-stream");
    mixed.proc.kill("SIGTERM");
    await mixed.exited;
  });
});

describe("the receiving side", () => {
  test.if(canTestPermissions)("a folder that cannot take files is refused at start with exit 6", async () => {
    await using dst = await tempDir();
    await writeFile(join(dst.path, "a-file"), "x");
    const r = await xfer(["recv", join(dst.path, "a-file", "sub"), "--json", "--listen", "127.0.0.1:0"]);
    expect(r.code).toBe(6);
    expect(errorOf(r.events)).toContain("cannot save into");
    // An existing folder this user may not write into.
    await chmod(dst.path, 0o555);
    const denied = await xfer(["recv", dst.path, "--json", "--listen", "127.0.0.1:0"], { runtime: asUnprivileged() });
    await chmod(dst.path, 0o755);
    expect(denied.code).toBe(6);
    expect(errorOf(denied.events)).toContain("cannot save into");
  });

  test.if(canTestPermissions)(
    "a folder that stops taking files mid-way: the sender is told the receiver's reason",
    async () => {
      await using dst = await tempDir();
      await using src = await tempDir();
      await writeFile(join(src.path, "f"), "x");
      await chmod(dst.path, 0o777);
      const recv = await startReceiver(dst.path, ["--once"], { runtime: asUnprivileged() });
      await chmod(dst.path, 0o555);
      const send = await sendAndWait([join(src.path, "f"), `127.0.0.1:${recv.port}`]);
      await chmod(dst.path, 0o755);
      expect(await recv.exited).toBe(6);
      expect(send.code).toBe(3);
      expect(errorOf(send.events)).toContain("EACCES");
      expect(errorOf(send.events)).toContain("cannot create 'f.xfer-part'");
    },
  );

  test("recv says once where it listens, this machine's addresses and the command to type", async () => {
    await using dst = await tempDir();
    const r = run(["recv", dst.path, "--listen", "0.0.0.0:0", "--code", "1-ab-cd-ef"]);
    await until(() => r.stderr().includes("type:"), r.exited, r.stderr);
    r.proc.kill("SIGTERM");
    await r.exited;
    const err = r.stderr();
    expect(err).not.toContain("listening on");
    expect(err.match(/on the other machine, type: xfer send <files> \S+:\d+/g)?.length).toBe(1);
    expect(err).toContain("(tcp-stream, udp-reliable, udp-raw)");
    expect(err).toContain("this machine");
  });

  test("recv --stdout --json: the file on stdout, the events on stderr", async () => {
    await using src = await tempDir();
    await writeFile(join(src.path, "f"), "the bytes");
    const recv = run(["recv", "--stdout", "--json", "--listen", "127.0.0.1:0"], { rawStdout: true });
    let out = "";
    recv.proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
    });
    await until(() => recv.stderr().includes('"event":"code"'), recv.exited, recv.stderr);
    const events = () =>
      recv
        .stderr()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const port = events().find((e) => e.event === "listening")?.port;
    expect((await sendAndWait([join(src.path, "f"), `127.0.0.1:${port}`])).code).toBe(0);
    expect(await recv.exited).toBe(0);
    expect(out).toBe("the bytes");
    expect(events().map((e) => e.event)).toContain("done");
  });

  test("recv --stdout onto a terminal is refused (exit 2)", async () => {
    // script(1) gives the command a pseudo-terminal as its stdout.
    const cmd = `${process.execPath} ${join(ROOT, "src/cli.ts")} recv --stdout --listen 127.0.0.1:0; echo "exit=$?"`;
    const r = Bun.spawnSync(["script", "-q", "-e", "-c", cmd, "/dev/null"], {
      env: { ...process.env, NO_COLOR: "1", XFER_DISCOVERY: "off" },
    });
    const out = r.stdout.toString();
    expect(out).toContain("onto this terminal");
    expect(out).toContain("exit=2");
  });

  test("a second TCP plugin does not stop a plain recv: it is a warning naming it, and tcp-stream still works", async () => {
    await using dst = await tempDir();
    const recv = await startReceiver(dst.path, ["--once", "--plugin", TCP_XOR]);
    await recv.waitFor((e) => e.event === "code");
    expect(recv.events.find((e) => e.event === "warning")?.message).toMatch(/^tcp-xor is not listening: .*in use/);
    await using src = await tempDir();
    await writeFile(join(src.path, "f"), "x");
    expect((await sendAndWait([join(src.path, "f"), `127.0.0.1:${recv.port}`])).code).toBe(0);
    expect(await recv.exited).toBe(0);
    // Named with --via, it must listen: then the same failure ends the receiver.
    const named = await xfer([
      "recv",
      dst.path,
      "--json",
      "--listen",
      "127.0.0.1:0",
      "--via",
      "tcp-stream,tcp-xor",
      "--plugin",
      TCP_XOR,
    ]);
    expect(named.code).toBe(2);
  });
});

describe("plugin logs", () => {
  test("ctx.log.debug and info are shown at their level with --verbose, named once; without it, not at all", async () => {
    await using dir = await tempDir();
    const plugin = join(dir.path, "logs.ts");
    await writeFiles(dir.path, {
      "logs.ts": pluginSource(
        "tcp-logs",
        `async listen(at, ctx) { ctx.log.debug("tcp-logs: a debug line"); ctx.log.info("an info line"); return { address: at, close: async () => {} }; }, async dial() { throw new Error("unused"); }`,
      ),
    });
    const args = ["recv", dir.path, "--listen", "127.0.0.1:0", "--via", "tcp-logs", "--plugin", plugin];
    const human = run([...args, "--verbose"]);
    await until(() => human.stderr().includes("type:"), human.exited, human.stderr);
    human.proc.kill("SIGTERM");
    await human.exited;
    expect(human.stderr()).toContain("[debug] tcp-logs: a debug line");
    expect(human.stderr()).toContain("[info] tcp-logs: an info line");
    expect(human.stderr()).not.toContain("[warn]");
    const json = run([...args, "--verbose", "--json"]);
    await json.waitFor((e) => e.event === "code");
    json.proc.kill("SIGTERM");
    await json.exited;
    expect(json.events.filter((e) => e.event === "log")).toEqual([
      { event: "log", level: "debug", transport: "tcp-logs", message: "a debug line" },
      { event: "log", level: "info", transport: "tcp-logs", message: "an info line" },
    ]);
    const quiet = run([...args, "--json"]);
    await quiet.waitFor((e) => e.event === "code");
    quiet.proc.kill("SIGTERM");
    await quiet.exited;
    expect(quiet.events.filter((e) => e.event === "log")).toEqual([]);
  });
});

describe("a sender with no answer", () => {
  test("over TCP, connected but silent: it says it waits for the receiver, then names the likely causes", async () => {
    await using src = await tempDir();
    await writeFile(join(src.path, "f"), "x");
    const silent = createServer(() => {});
    await new Promise<void>((res) => silent.listen(0, "127.0.0.1", res));
    const port = (silent.address() as { port: number }).port;
    const send = run(["send", "--json", join(src.path, "f"), `127.0.0.1:${port}`]);
    const first = await send.waitFor((e) => e.event === "waiting");
    expect(first).toMatchObject({ stage: "handshake", transport: "tcp-stream", to: `127.0.0.1:${port}` });
    expect(first.seconds as number).toBeGreaterThanOrEqual(1.5);
    const later = await send.waitFor((e) => e.event === "waiting" && (e.seconds as number) >= 6, 10_000);
    expect(later.reachableOn).toBe(`TCP port ${port}`);
    send.proc.kill("SIGTERM");
    await send.exited;
    silent.close();
  }, 15_000);

  test("over UDP, for people: 'connecting to …', then the firewall and NAT hint with the UDP port", async () => {
    await using src = await tempDir();
    await writeFile(join(src.path, "f"), "x");
    // A bound socket that never answers: no ICMP "port unreachable", as behind a firewall that drops.
    const silent = createSocket("udp4");
    await new Promise<void>((res) => silent.bind(0, "127.0.0.1", res));
    const port = silent.address().port;
    const send = run(["send", "--via", "udp-reliable", join(src.path, "f"), `127.0.0.1:${port}`]);
    await until(() => send.stderr().includes("reachable on"), send.exited, send.stderr);
    send.proc.kill("SIGTERM");
    await send.exited;
    expect(send.stderr()).toContain(`connecting to 127.0.0.1:${port} over udp-reliable…`);
    expect(send.stderr()).toContain(`firewall or NAT`);
    expect(send.stderr()).toContain(`UDP port ${port}`);
    silent.close();
  }, 15_000);
});

describe("progress", () => {
  test("the sender's progress follows what the receiver acknowledged, not what the transport queued", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    // 4 MB at 16 Mbit/s: two seconds on the wire, while udp-reliable's send buffer takes the whole
    // file at once.
    const size = 4_000_000;
    await writeFile(join(src.path, "f"), new Uint8Array(size).fill(7));
    const recv = await startReceiver(dst.path, ["--once", "--via", "udp-reliable"]);
    const send = run([
      "send",
      "--json",
      "--via",
      "udp-reliable",
      "--rate",
      "16mbit",
      join(src.path, "f"),
      `127.0.0.1:${recv.port}`,
    ]);
    expect(await send.exited).toBe(0);
    expect(await recv.exited).toBe(0);
    const shown = send.events.filter((e) => e.event === "progress").map((e) => e.bytes as number);
    // Counting queued bytes, every write returns at once and the bar jumps to the end; counting
    // what the receiver acknowledged, it climbs with the receiver, a step per report.
    expect(shown.filter((b) => b > 0 && b < size).length).toBeGreaterThanOrEqual(3);
    expect(shown.at(-1)).toBe(size);
    expect(shown).toEqual([...shown].sort((x, y) => x - y));
    // The receiver's transport reports its closing statistics before the session's done.
    const kinds = recv.events.map((e) => e.event);
    expect(kinds.lastIndexOf("stats")).toBeGreaterThan(-1);
    expect(kinds.lastIndexOf("stats")).toBeLessThan(kinds.indexOf("done"));
  }, 30_000);
});
