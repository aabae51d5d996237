/**
 * install.sh and install.ps1 against a local HTTP server (127.0.0.1) serving a release folder: each
 * installs a binary whose checksum matches, and refuses, installing nothing, when it does not.
 * install.ps1 runs where PowerShell (`pwsh`) is: the release workflow's Windows job; this machine
 * has none (neither npm nor Debian ships it), so here its tests are skipped.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { arch, platform } from "node:os";
import { join } from "node:path";
import { ROOT, tempDir } from "../helpers/cli.ts";

const hasFetcher = ["curl", "wget"].some((c) => spawnSync("sh", ["-c", `command -v ${c}`]).status === 0);
const hasPwsh = spawnSync("pwsh", ["-NoProfile", "-Command", "exit 0"]).status === 0;
const name = `xfer-${platform() === "darwin" ? "darwin" : "linux"}-${arch() === "arm64" ? "arm64" : "x64"}`;
// A stand-in for the binary: install.sh runs it for --version after installing.
const fakeBinary = "#!/bin/sh\necho 'xfer/9.9.9 (test)'\n";
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

let files: Record<string, string> = {};
let server: ReturnType<typeof Bun.serve>;
beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const file = files[new URL(req.url).pathname.slice(1)];
      return file === undefined ? new Response("not found", { status: 404 }) : new Response(file);
    },
  });
});
afterAll(() => server.stop(true));

/** Asynchronous on purpose: the HTTP server answering the script runs in this very process. */
function install(dir: string, script: "install.sh" | "install.ps1" = "install.sh") {
  const command =
    script === "install.sh"
      ? ["sh", join(ROOT, "install.sh")]
      : ["pwsh", "-NoProfile", "-NonInteractive", "-File", join(ROOT, "install.ps1")];
  const proc = spawn(command[0] as string, command.slice(1), {
    env: { ...process.env, XFER_INSTALL_BASE: `http://127.0.0.1:${server.port}`, XFER_INSTALL_DIR: dir },
  });
  let output = "";
  proc.stdout.on("data", (d: Buffer) => (output += d.toString()));
  proc.stderr.on("data", (d: Buffer) => (output += d.toString()));
  return new Promise<{ status: number | null; stderr: string }>((resolve) =>
    proc.on("exit", (status) => resolve({ status, stderr: output })),
  );
}

describe.skipIf(!hasFetcher || platform() === "win32")("install.sh", () => {
  test("installs the binary for this machine after verifying its checksum", async () => {
    await using dir = await tempDir();
    files = { [name]: fakeBinary, SHA256SUMS: `${sha(fakeBinary)}  ${name}\n${sha("other")}  xfer-other\n` };
    const r = await install(dir.path);
    expect(r.status, r.stderr).toBe(0);
    expect(execFileSync(join(dir.path, "xfer")).toString()).toContain("xfer/9.9.9");
  });

  test("refuses a binary whose checksum does not match, and installs nothing", async () => {
    await using dir = await tempDir();
    files = { [name]: `${fakeBinary}# tampered\n`, SHA256SUMS: `${sha(fakeBinary)}  ${name}\n` };
    const r = await install(dir.path);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("checksum mismatch");
    expect(existsSync(join(dir.path, "xfer"))).toBe(false);
  });

  test("refuses when SHA256SUMS has no entry for this machine", async () => {
    await using dir = await tempDir();
    files = { [name]: fakeBinary, SHA256SUMS: `${sha(fakeBinary)}  xfer-elsewhere\n` };
    const r = await install(dir.path);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("no entry");
    expect(existsSync(join(dir.path, "xfer"))).toBe(false);
  });
});

describe.skipIf(!hasPwsh)("install.ps1", () => {
  const exe = "xfer-windows-x64.exe";
  const content = "MZ stand-in for the Windows binary";

  test("installs xfer.exe after verifying its checksum", async () => {
    await using dir = await tempDir();
    files = { [exe]: content, SHA256SUMS: `${sha("other")}  xfer-other\n${sha(content)}  ${exe}\n` };
    const r = await install(dir.path, "install.ps1");
    expect(r.status, r.stderr).toBe(0);
    expect(await Bun.file(join(dir.path, "xfer.exe")).text()).toBe(content);
  });

  test("refuses a binary whose checksum does not match, and installs nothing", async () => {
    await using dir = await tempDir();
    files = { [exe]: `${content} (tampered)`, SHA256SUMS: `${sha(content)}  ${exe}\n` };
    const r = await install(dir.path, "install.ps1");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("checksum mismatch");
    expect(existsSync(join(dir.path, "xfer.exe"))).toBe(false);
  });

  test("refuses when SHA256SUMS has no entry for Windows", async () => {
    await using dir = await tempDir();
    files = { [exe]: content, SHA256SUMS: `${sha(content)}  xfer-elsewhere\n` };
    const r = await install(dir.path, "install.ps1");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("no entry");
    expect(existsSync(join(dir.path, "xfer.exe"))).toBe(false);
  });
});
