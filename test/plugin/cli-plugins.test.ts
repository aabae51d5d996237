/** The real CLI as a child process: plugins from every place, broken ones, a session through one. */
import { beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { cp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ROOT, run, sendAndWait, startReceiver, tempDir } from "../helpers/cli.ts";
import { BROKEN, pluginSource, writeFiles } from "./fixtures.ts";

const TCP_XOR = join(ROOT, "examples/plugins/tcp-xor/index.ts");
const TCP_SHARED = join(ROOT, "test/plugin/tcp-shared.fixture.ts");
const WITH_DEP = join(ROOT, "examples/plugins/with-dep");

async function xfer(args: string[], env: Record<string, string> = {}) {
  const r = run([...args, "--json"], { env });
  return { code: await r.exited, events: r.events, stderr: r.stderr() };
}

// The setup step a plugin author does: install the with-dep example's dependencies beside it
// (a file: dependency, so no network).
beforeAll(() => {
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: WITH_DEP });
}, 30_000);

const listed = (events: Record<string, unknown>[]) =>
  Object.fromEntries(events.filter((e) => e.event === "transport").map((e) => [e.name, e.origin]));

describe("loading plugins", () => {
  test("--plugin (repeatable), XFER_PLUGINS and the user folder all add transports, with their origin", async () => {
    await using dir = await tempDir();
    const config = join(dir.path, "config");
    await writeFiles(dir.path, {
      "flag-a.ts": pluginSource("flag-a"),
      "flag-b.js": pluginSource("flag-b"),
      "env-a.ts": pluginSource("env-a"),
      "env-b/index.ts": pluginSource("env-b"),
      "config/xfer/plugins/user-a.mjs": pluginSource("user-a"),
    });
    const r = await xfer(
      ["transports", "--plugin", join(dir.path, "flag-a.ts"), "--plugin", join(dir.path, "flag-b.js")],
      { XFER_PLUGINS: `${join(dir.path, "env-a.ts")}:${join(dir.path, "env-b")}`, XDG_CONFIG_HOME: config },
    );
    expect(r.code).toBe(0);
    expect(listed(r.events)).toEqual({
      "tcp-stream": "built-in",
      ...listed(r.events), // Built-ins added by others (udp-*) are not this test's business.
      "flag-a": join(dir.path, "flag-a.ts"),
      "flag-b": join(dir.path, "flag-b.js"),
      "env-a": join(dir.path, "env-a.ts"),
      "env-b": join(dir.path, "env-b/index.ts"),
      "user-a": join(config, "xfer/plugins/user-a.mjs"),
    });
    expect(r.events.find((e) => e.name === "flag-a")).toMatchObject({
      kind: "stream",
      reliable: true,
      capabilities: {},
    });
  });

  test.each([
    ["syntax-error.ts", "failed to load"],
    ["throws-at-import.ts", "failed to load: Error: boom at import"],
    ["no-default.ts", "has no default export"],
    ["wrong-shape.ts", "default.dial: must be a function"],
    ["clash.ts", "clashes with the one from built-in"],
  ] as const)("%s: exit 2, the message names the file and the problem", async (name, problem) => {
    await using dir = await tempDir();
    await writeFiles(dir.path, { [name]: BROKEN[name] });
    const r = await xfer(["transports", "--plugin", join(dir.path, name)]);
    expect(r.code).toBe(2);
    const error = r.events.find((e) => e.event === "error");
    expect(error?.message).toContain(join(dir.path, name));
    expect(error?.message).toContain(problem);
  });

  test("a plugin file that does not exist is a usage error on every command", async () => {
    const r = await xfer(["recv", "--plugin", "/nonexistent/p.ts", "--listen", "127.0.0.1:0"]);
    expect(r.code).toBe(2);
    expect(r.events.find((e) => e.event === "error")?.message).toContain("plugin not found: /nonexistent/p.ts");
  });
});

describe("sessions through a plugin", () => {
  test("send and recv over the tcp-xor example, loaded with --plugin on both sides", async () => {
    await using src = await tempDir();
    await using dst = await tempDir();
    const payload = crypto.getRandomValues(new Uint8Array(300_000));
    await writeFile(join(src.path, "data.bin"), payload);
    const recv = await startReceiver(dst.path, [
      "--once",
      "--via",
      "tcp-xor",
      "--plugin",
      TCP_XOR,
      "--transport-opt",
      "xorKey=17",
    ]);
    const sent = await sendAndWait([
      join(src.path, "data.bin"),
      `127.0.0.1:${recv.port}`,
      "--via",
      "tcp-xor",
      "--plugin",
      TCP_XOR,
      "--transport-opt",
      "xorKey=17",
    ]);
    expect(sent.code).toBe(0);
    expect(await recv.exited).toBe(0);
    expect(Buffer.compare(await readFile(join(dst.path, "data.bin")), payload)).toBe(0);
    expect(recv.events.find((e) => e.event === "connected")).toMatchObject({ transport: "tcp-xor" });
  });

  test("a plugin whose listen() throws: recv exits 2 naming the transport and its file", async () => {
    await using dir = await tempDir();
    await writeFiles(dir.path, { "listen-throws.ts": BROKEN["listen-throws.ts"] });
    const file = join(dir.path, "listen-throws.ts");
    const r = await xfer(["recv", dir.path, "--listen", "127.0.0.1:0", "--via", "listen-throws", "--plugin", file]);
    expect(r.code).toBe(2);
    expect(r.events.find((e) => e.event === "error")?.message).toContain(
      `transport 'listen-throws' (${file}): listen exploded`,
    );
  });

  test("a plugin whose dial() hangs and ignores its signal: Ctrl-C still ends send at once", async () => {
    await using dir = await tempDir();
    await writeFiles(dir.path, { "dial-hangs.ts": BROKEN["dial-hangs.ts"], "f.txt": "x" });
    const r = run([
      "send",
      "--json",
      join(dir.path, "f.txt"),
      "127.0.0.1:9",
      "--via",
      "dial-hangs",
      "--plugin",
      join(dir.path, "dial-hangs.ts"),
    ]);
    await Bun.sleep(700);
    const signalled = Date.now();
    r.proc.kill("SIGINT");
    expect(await r.exited).toBe(130);
    expect(Date.now() - signalled).toBeLessThan(1500);
  });
});

describe("every loaded TCP transport on one port", () => {
  test("a TCP plugin in the user folder: plain `xfer recv` serves it beside tcp-stream, a send via each works", async () => {
    await using dir = await tempDir();
    await using dst = await tempDir();
    const config = join(dir.path, "config");
    // Installed as a user would: a file in the per-user folder (here one that re-exports the fixture,
    // which resolves xfer/plugin/tcp from this checkout), and beside it one whose listen() throws.
    await writeFiles(dir.path, {
      "config/xfer/plugins/shared.ts": `export { default } from ${JSON.stringify(TCP_SHARED)};\n`,
      "config/xfer/plugins/listen-throws.ts": BROKEN["listen-throws.ts"],
    });
    const env = { XDG_CONFIG_HOME: config };
    const recv = run(["recv", dst.path, "--listen", "127.0.0.1:0", "--json"], { env });
    const ready = await recv.waitFor((e) => e.event === "code");
    const port = ready.port as number;
    const listening = recv.events.filter((e) => e.event === "listening");
    expect(listening.find((e) => e.transport === "tcp-stream")?.port).toBe(port);
    expect(listening.find((e) => e.transport === "tcp-shared-xor")?.port).toBe(port);
    expect(ready.transports).toEqual(expect.arrayContaining(["tcp-stream", "tcp-shared-xor"]));
    // A transport that still cannot listen is a warning naming it, not the end of the receiver.
    const warnings = recv.events.filter((e) => e.event === "warning").map((e) => String(e.message));
    expect(warnings).toEqual([expect.stringContaining("listen-throws is not listening")]);
    for (const via of ["tcp-stream", "tcp-shared-xor"]) {
      const payload = crypto.getRandomValues(new Uint8Array(200_000));
      await writeFile(join(dir.path, `${via}.bin`), payload);
      const sent = await sendAndWait([join(dir.path, `${via}.bin`), `127.0.0.1:${port}`, "--via", via], { env });
      expect(sent.code).toBe(0);
      expect(Buffer.compare(await readFile(join(dst.path, `${via}.bin`)), payload)).toBe(0);
    }
    expect(recv.events.filter((e) => e.event === "connected").map((e) => e.transport)).toEqual([
      "tcp-stream",
      "tcp-shared-xor",
    ]);
    recv.proc.kill("SIGINT");
    expect(await recv.exited).toBe(130);
  }, 60_000);

  test("the shared-TCP fixture conforms (xfer plugin check)", async () => {
    const r = run(["plugin", "check", TCP_SHARED, "--json"]);
    expect(await r.exited).toBe(0);
    const cases = r.events.filter((e) => e.event === "conformance");
    expect(cases.length).toBeGreaterThan(10);
    expect(cases.filter((e) => e.status !== "pass")).toEqual([]);
  }, 60_000);
});

describe("xfer plugin check", () => {
  test("the tcp-xor example conforms: exit 0, one NDJSON line per case", async () => {
    const r = run(["plugin", "check", TCP_XOR, "--json"]);
    expect(await r.exited).toBe(0);
    const cases = r.events.filter((e) => e.event === "conformance");
    expect(cases.length).toBeGreaterThan(10);
    expect(cases.filter((e) => e.status !== "pass")).toEqual([]);
    expect(r.events.at(-1)).toMatchObject({ event: "conformance-summary", transport: "tcp-xor", ok: true, failed: 0 });
  });

  test("a broken plugin gets a readable report and a non-zero exit", async () => {
    await using dir = await tempDir();
    await writeFiles(dir.path, { "listen-throws.ts": BROKEN["listen-throws.ts"] });
    const r = run(["plugin", "check", join(dir.path, "listen-throws.ts"), "--only", "transfer-1B"], {
      rawStdout: true,
    });
    let out = "";
    r.proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    expect(await r.exited).toBe(1);
    expect(out).toContain("FAIL stream.transfer-1B");
    expect(out).toContain("listen exploded");
    expect(out).toContain("listen-throws: 1 passed, 1 failed, 0 skipped — DOES NOT CONFORM");
  });

  test("a plugin that cannot load is a usage error (exit 2)", async () => {
    await using dir = await tempDir();
    await writeFiles(dir.path, { "syntax-error.ts": BROKEN["syntax-error.ts"] });
    const r = await xfer(["plugin", "check", join(dir.path, "syntax-error.ts")]);
    expect(r.code).toBe(2);
  });
});

describe("a plugin with its own npm dependency", () => {
  test("loads from its folder, resolving the dependency from its own node_modules", async () => {
    const r = await xfer(["transports", "--plugin", WITH_DEP]);
    expect(r.code).toBe(0);
    expect(r.events.find((e) => e.name === "tcp-xor-dep")).toMatchObject({
      description: "tcp-xor, loaded with its own node_modules (via xfer-example-banner)",
      origin: join(WITH_DEP, "index.ts"),
    });
  });

  test("copied elsewhere without node_modules, it fails naming the file and the missing package", async () => {
    await using dir = await tempDir();
    await cp(join(ROOT, "examples/plugins/tcp-xor"), join(dir.path, "tcp-xor"), { recursive: true });
    await cp(join(WITH_DEP, "index.ts"), join(dir.path, "with-dep/index.ts"));
    const r = await xfer(["transports", "--plugin", join(dir.path, "with-dep")]);
    expect(r.code).toBe(2);
    const message = String(r.events.find((e) => e.event === "error")?.message);
    expect(message).toContain(join(dir.path, "with-dep/index.ts"));
    expect(message).toContain("xfer-example-banner");
  });
});

describe("from a compiled binary", () => {
  test(".ts, .js and a plugin with npm dependencies load into `bun build --compile` output", async () => {
    await using dir = await tempDir();
    const binary = join(dir.path, "xfer");
    // --compile-autoload-package-json: without it a plugin's bare imports do not resolve (RUNTIME-FACTS.md).
    execFileSync(process.execPath, [
      "build",
      "--compile",
      "--compile-autoload-package-json",
      join(ROOT, "src/cli.ts"),
      "--outfile",
      binary,
    ]);
    await writeFiles(dir.path, { "plain.js": pluginSource("plain-js") });
    const args = [
      "transports",
      "--json",
      "--plugin",
      TCP_XOR,
      "--plugin",
      join(dir.path, "plain.js"),
      "--plugin",
      WITH_DEP,
    ];
    const out = execFileSync(binary, args, { cwd: dir.path }).toString();
    const names = out
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { name: string }).name);
    expect(names).toEqual(expect.arrayContaining(["tcp-xor", "plain-js", "tcp-xor-dep"]));
    const check = execFileSync(binary, ["plugin", "check", TCP_XOR, "--only", "session", "--json"]).toString();
    expect(check).toContain('"ok":true');
  }, 30_000);
});
