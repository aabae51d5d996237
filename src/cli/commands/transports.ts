/** `xfer transports`: every transport this process knows, where it came from and what it can do. */

import { declaredOptions } from "../transport-options.ts";
import { loadTransports } from "../transports.ts";

export async function transportsCommand(
  { json, verbose }: { json: boolean; verbose: boolean },
  pluginPaths: readonly string[] = [],
) {
  const registry = await loadTransports(pluginPaths);
  const rows = registry.list().map(({ transport: t, origin }) => ({
    name: t.name,
    kind: t.kind,
    reliable: t.kind === "stream",
    description: t.description,
    origin,
    capabilities: t.capabilities ?? {},
    /** null: the transport declares no schema and takes any key unchecked. */
    options: t.options ? declaredOptions(t) : null,
  }));
  for (const info of rows) {
    if (json) {
      process.stdout.write(`${JSON.stringify({ event: "transport", ...info })}\n`);
      continue;
    }
    const caps = Object.entries(info.capabilities)
      .filter(([, v]) => v)
      .map(([k]) => k);
    const traits = [info.kind, info.reliable ? "reliable" : "unreliable", ...caps].join(", ");
    // Origins are long paths: they get their own line so the table stays readable.
    process.stdout.write(
      `${info.name.padEnd(14)} ${info.description}\n${" ".repeat(15)}[${traits}] from ${info.origin}\n`,
    );
    if (!verbose) continue;
    if (info.options === null) process.stdout.write(`${" ".repeat(15)}--transport-opt: any key=value (unchecked)\n`);
    else if (info.options.length === 0) process.stdout.write(`${" ".repeat(15)}--transport-opt: none\n`);
    for (const o of info.options ?? [])
      process.stdout.write(`${" ".repeat(15)}--transport-opt ${`${o.key}=…`.padEnd(20)} ${o.description}\n`);
  }
  if (!json && !verbose)
    process.stdout.write("(xfer transports --verbose lists each one's --transport-opt settings)\n");
  return 0;
}
