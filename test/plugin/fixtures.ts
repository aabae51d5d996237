/**
 * Plugin files written at test time into a temporary folder: broken ones cannot live in the source
 * tree, where tsc and biome would (rightly) refuse them.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/** A definition that passes validation; listen/dial bodies are JavaScript source. */
export function pluginSource(
  name: string,
  body = "async listen() { throw new Error('unused'); }, async dial() { throw new Error('unused'); }",
): string {
  return `export default { name: ${JSON.stringify(name)}, description: "fixture", apiVersion: 1, kind: "stream", ${body} };\n`;
}

export const BROKEN = {
  "syntax-error.ts": "export default { name: 'oops', \n",
  "throws-at-import.ts": "throw new Error('boom at import');\nexport default {};\n",
  "no-default.ts": "export const transport = {};\n",
  "wrong-shape.ts": `export default { name: "Bad Name", description: "x", apiVersion: 1, kind: "stream", async listen() {} };\n`,
  "clash.ts": pluginSource("tcp-stream"),
  "listen-throws.ts": pluginSource(
    "listen-throws",
    "async listen() { throw new Error('listen exploded'); }, async dial() { throw new Error('dial exploded'); }",
  ),
  "dial-hangs.ts": pluginSource(
    "dial-hangs",
    "async listen() { throw new Error('unused'); }, dial() { return new Promise(() => {}); }",
  ),
} as const;

/** Write `files` (relative path → source) under `dir`. */
export async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, source] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), source);
  }
}
