import { describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tcpStream from "../../plugins/tcp-stream/index.ts";
import { BROKEN, pluginSource, writeFiles } from "../../test/plugin/fixtures.ts";
import { importPlugin, type PluginEnvironment, pluginSources, userPluginDir } from "./loader.ts";
import { TransportRegistry } from "./registry.ts";

async function sandbox() {
  const dir = await mkdtemp(join(tmpdir(), "xfer-loader-"));
  return { dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
}

const envAt = (
  dir: string,
  env: Record<string, string> = {},
  platform: NodeJS.Platform = "linux",
): PluginEnvironment => ({
  env: { XDG_CONFIG_HOME: join(dir, "config"), ...env },
  platform,
  home: join(dir, "home"),
  cwd: dir,
});

describe("where plugins are found", () => {
  test("the per-user folder follows XDG on Linux/macOS and APPDATA on Windows", () => {
    expect(userPluginDir({ env: {}, platform: "linux", home: "/home/u", cwd: "/" })).toBe(
      "/home/u/.config/xfer/plugins",
    );
    expect(userPluginDir({ env: { XDG_CONFIG_HOME: "/x" }, platform: "darwin", home: "/h", cwd: "/" })).toBe(
      "/x/xfer/plugins",
    );
    expect(
      userPluginDir({ env: { APPDATA: "C:\\Users\\u\\AppData\\Roaming" }, platform: "win32", home: "", cwd: "" }),
    ).toBe("C:\\Users\\u\\AppData\\Roaming\\xfer\\plugins");
  });

  test("flags, then XFER_PLUGINS, then the user folder; each file once", async () => {
    await using s = await sandbox();
    const folder = join("config", "xfer", "plugins");
    await writeFiles(s.dir, {
      "a.ts": pluginSource("a"),
      "b.js": pluginSource("b"),
      "dir-plugin/index.mjs": pluginSource("c"),
      [`${folder}/d.ts`]: pluginSource("d"),
      [`${folder}/e/index.ts`]: pluginSource("e"),
      [`${folder}/types.d.ts`]: "export {};",
      [`${folder}/README.txt`]: "not a plugin",
      [`${folder}/no-index/helper.ts`]: "export {};",
    });
    const sources = await pluginSources(
      ["a.ts"],
      envAt(s.dir, { XFER_PLUGINS: `b.js::dir-plugin:${join(s.dir, "a.ts")}` }),
    );
    expect(sources.map((x) => [x.file.slice(s.dir.length + 1), x.from])).toEqual([
      ["a.ts", "--plugin"],
      ["b.js", "XFER_PLUGINS"],
      ["dir-plugin/index.mjs", "XFER_PLUGINS"],
      [`${folder}/d.ts`, "plugin folder"],
      [`${folder}/e/index.ts`, "plugin folder"],
    ]);
  });

  test("XFER_NO_USER_PLUGINS=1 leaves the per-user folder out, and only it", async () => {
    await using s = await sandbox();
    await writeFiles(s.dir, { "a.ts": pluginSource("a"), "config/xfer/plugins/d.ts": pluginSource("d") });
    const files = async (env: Record<string, string>) =>
      (await pluginSources(["a.ts"], envAt(s.dir, env))).map((x) => x.file.slice(s.dir.length + 1));
    expect(await files({})).toEqual(["a.ts", "config/xfer/plugins/d.ts"]);
    expect(await files({ XFER_NO_USER_PLUGINS: "1" })).toEqual(["a.ts"]);
  });

  test("XFER_PLUGINS is ';'-separated on Windows", async () => {
    await using s = await sandbox();
    await writeFiles(s.dir, { "a.ts": pluginSource("a"), "b.ts": pluginSource("b") });
    const sources = await pluginSources(
      [],
      envAt(s.dir, { XFER_PLUGINS: "a.ts;b.ts", APPDATA: join(s.dir, "none") }, "win32"),
    );
    expect(sources.map((x) => x.file)).toEqual([join(s.dir, "a.ts"), join(s.dir, "b.ts")]);
  });

  test("a named path that does not exist, or a folder without index, is a usage error naming it", async () => {
    await using s = await sandbox();
    await writeFiles(s.dir, { "empty/x.txt": "" });
    await expect(pluginSources(["missing.ts"], envAt(s.dir))).rejects.toThrow(
      `plugin not found: ${join(s.dir, "missing.ts")}`,
    );
    await expect(pluginSources([], envAt(s.dir, { XFER_PLUGINS: "empty" }))).rejects.toThrow(
      /plugin folder .*empty has no index/,
    );
  });
});

describe("importing and validating", () => {
  const load = async (dir: string, name: keyof typeof BROKEN) => {
    await writeFiles(dir, { [name]: BROKEN[name] });
    const registry = new TransportRegistry();
    registry.register(tcpStream, "built-in");
    for (const { value, exportPath } of await importPlugin(join(dir, name)))
      registry.register(value, join(dir, name), exportPath);
  };

  test.each([
    ["syntax-error.ts", /plugin .*syntax-error\.ts failed to load: /],
    ["throws-at-import.ts", /plugin .*throws-at-import\.ts failed to load: Error: boom at import/],
    ["no-default.ts", /plugin .*no-default\.ts has no default export/],
    [
      "wrong-shape.ts",
      /transport plugin .*wrong-shape\.ts is invalid: default\.name: lowercase.*default\.dial: must be a function/,
    ],
    ["clash.ts", /transport 'tcp-stream' from .*clash\.ts clashes with the one from built-in/],
  ] as const)("%s fails with a usage error naming the file", async (name, message) => {
    await using s = await sandbox();
    const err = await load(s.dir, name).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "XferError", code: "usage" });
    expect((err as Error).message).toMatch(message);
  });

  test("a default export may be an array; each element is checked where it sits", async () => {
    await using s = await sandbox();
    await writeFiles(s.dir, {
      "two.ts": `import one from "./one.ts";\nexport default [one, { name: "x" }];\n`,
      "one.ts": pluginSource("one"),
    });
    const registry = new TransportRegistry();
    const exported = await importPlugin(join(s.dir, "two.ts"));
    expect(exported.map((e) => e.exportPath)).toEqual(["default[0]", "default[1]"]);
    registry.register(exported[0]!.value, "two.ts", exported[0]!.exportPath);
    expect(() => registry.register(exported[1]!.value, "two.ts", exported[1]!.exportPath)).toThrow(
      /default\[1\]\.description/,
    );
  });
});
