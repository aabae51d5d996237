/**
 * Finding and importing plugin files. Three places, in this order: `--plugin <path>` flags, the
 * XFER_PLUGINS environment variable (a path list, ':'-separated, ';' on Windows), and the per-user
 * plugin folder. A plugin module's default export is one transport definition or an array of them.
 *
 * Plugins are imported with a dynamic import() of the file's URL, which works both from source and
 * from a `bun build --compile` binary. A plugin's bare imports resolve against node_modules beside it
 * (from a compiled binary only when it was built with --compile-autoload-package-json).
 */
import { existsSync, statSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve, win32 } from "node:path";
import { pathToFileURL } from "node:url";
import { XferError } from "../core/errors.ts";
import type { TransportRegistry } from "./registry.ts";

export type PluginSourceKind = "--plugin" | "XFER_PLUGINS" | "plugin folder";

export interface PluginSource {
  /** Absolute path of the module file (a folder is resolved to its index file). */
  file: string;
  from: PluginSourceKind;
}

/** What decides where plugins are looked for; tests pass their own. */
export interface PluginEnvironment {
  env: Readonly<Record<string, string | undefined>>;
  platform: NodeJS.Platform;
  home: string;
  cwd: string;
}

export function currentEnvironment(): PluginEnvironment {
  return { env: process.env, platform: process.platform, home: homedir(), cwd: process.cwd() };
}

const MODULE_EXTENSIONS = [".ts", ".js", ".mjs"];
const INDEX_FILES = MODULE_EXTENSIONS.map((ext) => `index${ext}`);

/** XDG_CONFIG_HOME/xfer/plugins or ~/.config/xfer/plugins; %APPDATA%\xfer\plugins on Windows. */
export function userPluginDir(e: PluginEnvironment): string {
  if (e.platform === "win32")
    return win32.join(e.env.APPDATA || win32.join(e.home, "AppData", "Roaming"), "xfer", "plugins");
  return join(e.env.XDG_CONFIG_HOME || join(e.home, ".config"), "xfer", "plugins");
}

/** Every plugin file to load, each once, in precedence order. Named paths that do not exist are errors. */
export async function pluginSources(flagPaths: readonly string[], e: PluginEnvironment): Promise<PluginSource[]> {
  const separator = e.platform === "win32" ? ";" : ":";
  const named: PluginSource[] = [
    ...flagPaths.map((p) => ({ file: moduleFile(resolve(e.cwd, p), "--plugin"), from: "--plugin" as const })),
    ...(e.env.XFER_PLUGINS ?? "")
      .split(separator)
      .filter((p) => p.trim() !== "")
      .map((p) => ({ file: moduleFile(resolve(e.cwd, p), "XFER_PLUGINS"), from: "XFER_PLUGINS" as const })),
  ];
  // XFER_NO_USER_PLUGINS=1: an author testing a plugin (or a script) keeps the per-user folder out.
  const fromFolder = e.env.XFER_NO_USER_PLUGINS === "1" ? [] : await folderSources(userPluginDir(e));
  const all = [...named, ...fromFolder];
  const seen = new Set<string>();
  return all.filter((s) => !seen.has(s.file) && seen.add(s.file));
}

/** The module file for a plugin path: a file as is, a folder by its index file. */
export function moduleFile(path: string, from: PluginSourceKind): string {
  if (!existsSync(path)) throw new XferError("usage", `plugin not found: ${path} (from ${from})`);
  if (!statSync(path).isDirectory()) return path;
  const index = INDEX_FILES.map((f) => join(path, f)).find((f) => existsSync(f));
  if (!index) throw new XferError("usage", `plugin folder ${path} has no ${INDEX_FILES.join(" / ")} (from ${from})`);
  return index;
}

async function folderSources(dir: string): Promise<PluginSource[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch {
    return []; // No plugin folder is the common case, not an error.
  }
  const out: PluginSource[] = [];
  for (const name of names) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      const index = INDEX_FILES.map((f) => join(path, f)).find((f) => existsSync(f));
      if (index) out.push({ file: index, from: "plugin folder" });
    } else if (MODULE_EXTENSIONS.some((ext) => name.endsWith(ext)) && !name.endsWith(".d.ts")) {
      out.push({ file: path, from: "plugin folder" });
    }
  }
  return out;
}

/** The would-be transport definitions a plugin module exports, each with where it sits. */
export async function importPlugin(file: string): Promise<{ value: unknown; exportPath: string }[]> {
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (err) {
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    throw new XferError("usage", `plugin ${file} failed to load: ${message}`, { cause: err });
  }
  const exported = mod.default;
  if (exported === undefined)
    throw new XferError(
      "usage",
      `plugin ${file} has no default export; write \`export default defineTransport({...})\` (or an array of them)`,
    );
  if (!Array.isArray(exported)) return [{ value: exported, exportPath: "default" }];
  if (exported.length === 0) throw new XferError("usage", `plugin ${file} exports an empty array of transports`);
  return exported.map((value, i) => ({ value, exportPath: `default[${i}]` }));
}

/** Import every source and register what it exports; the first problem stops with a usage error. */
export async function loadPlugins(registry: TransportRegistry, sources: readonly PluginSource[]): Promise<void> {
  for (const source of sources) {
    for (const { value, exportPath } of await importPlugin(source.file))
      registry.register(value, source.file, exportPath);
  }
}
