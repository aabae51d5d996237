/**
 * Checks what build.ts wrote: every file in dist/SHA256SUMS matches its checksum and is an
 * executable of the right format for its target (ELF x86-64/aarch64, Mach-O x86-64/arm64, PE
 * x86-64); the host binary prints its version (which must name the native BLAKE3, embedded per
 * target) and moves a real file over loopback with every built-in transport. Under qemu-aarch64 (apt: qemu-user), the linux-arm64 binary's --version too.
 *
 *   bun scripts/check-binaries.ts
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { binaryName, hostTarget, type Target } from "../build.ts";

const DIST = join(import.meta.dir, "..", "dist");

/** The executable format a target must have, read from the first bytes of the file. */
export function formatOf(head: Uint8Array): string {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46) {
    const machine = view.getUint16(18, true);
    return machine === 0x3e ? "elf-x64" : machine === 0xb7 ? "elf-arm64" : `elf-machine-${machine}`;
  }
  if (view.getUint32(0, true) === 0xfeedfacf) {
    const cpu = view.getUint32(4, true);
    return cpu === 0x01000007 ? "macho-x64" : cpu === 0x0100000c ? "macho-arm64" : `macho-cpu-${cpu}`;
  }
  if (head[0] === 0x4d && head[1] === 0x5a) {
    const pe = view.getUint32(0x3c, true);
    if (pe + 6 <= head.byteLength && view.getUint32(pe, true) === 0x00004550) {
      const machine = view.getUint16(pe + 4, true);
      return machine === 0x8664 ? "pe-x64" : `pe-machine-${machine}`;
    }
  }
  return "unknown";
}

const EXPECTED: Record<Target, string> = {
  "linux-x64": "elf-x64",
  "linux-arm64": "elf-arm64",
  "darwin-x64": "macho-x64",
  "darwin-arm64": "macho-arm64",
  "windows-x64": "pe-x64",
};

async function checkFiles(): Promise<string[]> {
  const sums = (await readFile(join(DIST, "SHA256SUMS"), "utf8")).trim().split("\n");
  const names: string[] = [];
  for (const line of sums) {
    const [hash, name] = line.split(/\s+/) as [string, string];
    const bytes = await readFile(join(DIST, name));
    const actual = createHash("sha256").update(bytes).digest("hex");
    if (actual !== hash) throw new Error(`${name}: checksum ${actual} does not match SHA256SUMS`);
    const target = (Object.keys(EXPECTED) as Target[]).find((t) => binaryName(t) === name);
    if (!target) throw new Error(`${name}: not a known target`);
    const format = formatOf(bytes.subarray(0, 4096));
    if (format !== EXPECTED[target]) throw new Error(`${name}: expected ${EXPECTED[target]}, found ${format}`);
    console.log(`ok  ${name}  ${format}  ${(bytes.byteLength / 1e6).toFixed(1)} MB  sha256 verified`);
    names.push(name);
  }
  return names;
}

function lines(proc: ReturnType<typeof spawn>, onEvent: (e: Record<string, unknown>) => void): void {
  createInterface({ input: proc.stdout! }).on("line", (l) => {
    try {
      onEvent(JSON.parse(l) as Record<string, unknown>);
    } catch {
      // not an event
    }
  });
}

async function transferWith(binary: string, transport: string, work: string): Promise<void> {
  const src = join(work, `in-${transport}.bin`);
  const out = join(work, `out-${transport}`);
  const data = new Uint8Array(3 * 1024 * 1024 + 17);
  crypto.getRandomValues(data.subarray(0, 65536));
  await writeFile(src, data);
  const recv = spawn(binary, ["recv", out, "--listen", "127.0.0.1:0", "--via", transport, "--once", "--json"]);
  // The receiver makes up a one-time code; the sender gives it back, as a person would.
  const { port, code } = await new Promise<{ port: number; code: string }>((resolve, reject) => {
    let port = 0;
    lines(recv, (e) => {
      if (e.event === "listening") port = e.port as number;
      if (e.event === "code") resolve({ port, code: e.code as string });
    });
    recv.on("exit", (c) => reject(new Error(`receiver exited (${c}) before printing its code`)));
  });
  const send = spawn(binary, ["send", "--via", transport, "--json", "--code", code, src, `127.0.0.1:${port}`]);
  const [s, r] = await Promise.all([
    new Promise<number>((res) => send.on("exit", (c) => res(c ?? 1))),
    new Promise<number>((res) => recv.on("exit", (c) => res(c ?? 1))),
  ]);
  if (s !== 0 || r !== 0) throw new Error(`${transport}: transfer failed (sender ${s}, receiver ${r})`);
  const got = await readFile(join(out, `in-${transport}.bin`));
  if (Buffer.compare(got, data) !== 0) throw new Error(`${transport}: received bytes differ`);
  console.log(`ok  ${binary.split("/").pop()} moved 3 MiB over ${transport}`);
}

async function main(): Promise<void> {
  const names = await checkFiles();
  const host = join(DIST, binaryName(hostTarget()));
  if (!names.includes(binaryName(hostTarget())))
    throw new Error(`no host binary (${binaryName(hostTarget())}) in dist/`);
  const version = execFileSync(host, ["--version"]).toString().trim();
  // The addon is embedded per target; without it the binary hashes in WebAssembly, 3x slower end to end.
  if (!version.includes("blake3-native")) throw new Error(`host binary does not use the native BLAKE3: ${version}`);
  console.log(`ok  ${version}`);
  const transports = execFileSync(host, ["transports", "--json"])
    .toString()
    .trim()
    .split("\n")
    .map((l) => (JSON.parse(l) as { name: string }).name);
  // A plugin with its own npm dependency loads into the compiled binary (--compile-autoload-package-json).
  const withDep = join(import.meta.dir, "..", "examples", "plugins", "with-dep");
  const plugged = execFileSync(host, ["transports", "--json", "--plugin", withDep]).toString();
  if (!plugged.includes('"tcp-xor-dep"')) throw new Error("the host binary did not load examples/plugins/with-dep");
  console.log("ok  host binary loads a plugin with its own npm dependency");
  const work = await mkdtemp(join(tmpdir(), "xfer-binaries-"));
  try {
    for (const t of transports) await transferWith(host, t, work);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const arm = join(DIST, binaryName("linux-arm64"));
  if (names.includes(binaryName("linux-arm64")) && hostTarget() === "linux-x64") {
    const qemu = ["/usr/bin/qemu-aarch64", "/usr/bin/qemu-aarch64-static"].find(existsSync);
    if (qemu && existsSync("/usr/aarch64-linux-gnu"))
      console.log(
        `ok  arm64 under qemu: ${execFileSync(qemu, ["-L", "/usr/aarch64-linux-gnu", arm, "--version"]).toString().trim()}`,
      );
    else console.log("skip linux-arm64 --version: qemu-aarch64 with /usr/aarch64-linux-gnu not installed");
  }
}

if (import.meta.main) await main();
