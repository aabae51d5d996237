/**
 * Builds one self-contained executable per OS with `bun build --compile`, plus dist/SHA256SUMS.
 *
 *   bun build.ts                      every target (Bun fetches each target's runtime from npm, cached)
 *   bun build.ts --host-only          this machine's target only (fast; what CI runs before testing it)
 *   bun build.ts --targets linux-x64,darwin-arm64
 *   bun build.ts --runtimes <dir>     offline and reproducible: <dir>/<target>/package/bin/bun[.exe] are
 *                                     `npm pack @oven/bun-<target>@<bun version>` unpacked (env XFER_BUN_RUNTIMES)
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { arch, platform } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const ROOT = import.meta.dir;
const DIST = join(ROOT, "dist");

/**
 * Our name for a target, Bun's --target, the npm package holding that runtime, and the platform
 * suffix of the BLAKE3 addon built for it (@napi-rs/blake-hash-<suffix>).
 */
export const TARGETS = {
  "linux-x64": { bun: "bun-linux-x64", pkg: "bun-linux-x64", exe: "", addon: "linux-x64-gnu" },
  "linux-arm64": { bun: "bun-linux-arm64", pkg: "bun-linux-aarch64", exe: "", addon: "linux-arm64-gnu" },
  "darwin-x64": { bun: "bun-darwin-x64", pkg: "bun-darwin-x64", exe: "", addon: "darwin-x64" },
  "darwin-arm64": { bun: "bun-darwin-arm64", pkg: "bun-darwin-aarch64", exe: "", addon: "darwin-arm64" },
  "windows-x64": { bun: "bun-windows-x64", pkg: "bun-windows-x64", exe: ".exe", addon: "win32-x64-msvc" },
} as const;
export type Target = keyof typeof TARGETS;

/** Where addons of other platforms are unpacked (npm installs only this machine's). */
const ADDON_CACHE = join(ROOT, "node_modules", ".cache", "xfer-addons");

/**
 * The BLAKE3 addon (.node) for `target`: this machine's from node_modules, any other fetched once
 * with `npm pack` at the version package.json pins. Embedded in the binary (src/core/hashing.ts).
 */
async function addonFor(target: Target): Promise<string> {
  const suffix = TARGETS[target].addon;
  const pkg = `@napi-rs/blake-hash-${suffix}`;
  const file = `blake.${suffix}.node`;
  const installed = join(ROOT, "node_modules", pkg, file);
  if (existsSync(installed)) return installed;
  const dir = join(ADDON_CACHE, suffix);
  const cached = join(dir, "package", file);
  if (existsSync(cached)) return cached;
  const { dependencies } = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
  };
  const version = dependencies["@napi-rs/blake-hash"];
  await mkdir(dir, { recursive: true });
  const tarball = execFileSync("npm", ["pack", `${pkg}@${version}`, "--silent", "--pack-destination", dir], {
    cwd: dir,
  })
    .toString()
    .trim()
    .split("\n")
    .pop()!;
  execFileSync("tar", ["-xzf", join(dir, tarball), "-C", dir]);
  if (!existsSync(cached)) throw new Error(`${pkg}@${version} has no ${file}`);
  return cached;
}

export function hostTarget(): Target {
  const os = platform() === "win32" ? "windows" : platform();
  const cpu = arch() === "arm64" ? "arm64" : "x64";
  const name = `${os}-${cpu}`;
  if (!(name in TARGETS)) throw new Error(`no xfer build for ${name}`);
  return name as Target;
}

export function binaryName(target: Target): string {
  return `xfer-${target}${TARGETS[target].exe}`;
}

function gitCommit(): string {
  try {
    const sha = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: ROOT }).toString().trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: ROOT }).toString();
    return dirty.trim() ? `${sha}-dirty` : sha;
  } catch {
    return "unknown";
  }
}

async function build(target: Target, commit: string, runtimes: string | undefined): Promise<string> {
  const out = join(DIST, binaryName(target));
  const args = [
    "build",
    join(ROOT, "src/cli.ts"),
    "--compile",
    // Measured: --version in ~9 ms instead of ~17 ms (docs/BENCHMARKS.md); plugins still load.
    "--minify",
    "--bytecode",
    // Top-level await in src/cli.ts: bytecode needs ES module output.
    "--format=esm",
    // Lets plugins loaded at run time resolve their own npm dependencies (RUNTIME-FACTS.md).
    "--compile-autoload-package-json",
    `--target=${TARGETS[target].bun}`,
    "--define",
    `process.env.XFER_BUILD_COMMIT=${JSON.stringify(commit)}`,
    "--define",
    `XFER_EMBEDDED_BLAKE3=${JSON.stringify(await addonFor(target))}`,
    "--outfile",
    out,
  ];
  if (runtimes) {
    const runtime = join(runtimes, target, "package", "bin", `bun${TARGETS[target].exe}`);
    if (!existsSync(runtime))
      throw new Error(`offline build: ${runtime} is missing (npm pack @oven/${TARGETS[target].pkg})`);
    args.push(`--compile-executable-path=${runtime}`);
  }
  execFileSync(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  return out;
}

async function sha256(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "host-only": { type: "boolean", default: false },
      targets: { type: "string" },
      runtimes: { type: "string", default: process.env.XFER_BUN_RUNTIMES },
    },
  });
  const targets: Target[] = values["host-only"]
    ? [hostTarget()]
    : values.targets
      ? values.targets.split(",").map((t) => {
          if (!(t in TARGETS)) throw new Error(`unknown target '${t}' (known: ${Object.keys(TARGETS).join(", ")})`);
          return t as Target;
        })
      : (Object.keys(TARGETS) as Target[]);
  const commit = gitCommit();
  await rm(DIST, { recursive: true, force: true });
  await mkdir(DIST, { recursive: true });
  const sums: string[] = [];
  for (const target of targets) {
    const started = performance.now();
    const out = await build(target, commit, values.runtimes);
    const size = (await stat(out)).size;
    sums.push(`${await sha256(out)}  ${binaryName(target)}`);
    console.log(
      `${binaryName(target)}  ${(size / 1e6).toFixed(1)} MB  ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  }
  await writeFile(join(DIST, "SHA256SUMS"), `${sums.join("\n")}\n`);
  console.log(`dist/SHA256SUMS (${targets.length} files), commit ${commit}`);
}

if (import.meta.main) await main();
