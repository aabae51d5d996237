/** `xfer transports`: every transport this process knows, where it came from and what it can do. */
import type { EventSink } from "../../core/events.ts";
import { loadTransports } from "../transports.ts";

export async function transportsCommand(json: boolean, _emit: EventSink, pluginPaths: readonly string[] = []) {
  const registry = await loadTransports(pluginPaths);
  const rows = registry.list().map(({ transport: t, origin }) => ({
    name: t.name,
    kind: t.kind,
    reliable: t.kind === "stream",
    description: t.description,
    origin,
    capabilities: t.capabilities ?? {},
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
  }
  return 0;
}
