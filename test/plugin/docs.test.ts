/** docs/PLUGINS.md shows the example plugin in full: keep the copy in the docs identical to the file. */
import { expect, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ROOT } from "../helpers/cli.ts";

test("the example in docs/PLUGINS.md is examples/plugins/tcp-xor/index.ts, under 80 lines", async () => {
  const doc = await readFile(join(ROOT, "docs/PLUGINS.md"), "utf8");
  const example = await readFile(join(ROOT, "examples/plugins/tcp-xor/index.ts"), "utf8");
  expect(doc).toContain(`\`\`\`ts\n${example}\`\`\``);
  expect(example.trimEnd().split("\n").length).toBeLessThan(80);
});
