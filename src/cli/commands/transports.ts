import type { EventSink } from "../../core/events.ts";
import { loadTransports } from "../transports.ts";

export async function transportsCommand(json: boolean, _emit: EventSink): Promise<number> {
  const registry = await loadTransports();
  for (const { transport: t, origin } of registry.list()) {
    const info = {
      name: t.name,
      kind: t.kind,
      reliable: t.kind === "stream",
      description: t.description,
      origin,
      capabilities: t.capabilities ?? {},
    };
    if (json) process.stdout.write(`${JSON.stringify({ event: "transport", ...info })}\n`);
    else {
      const caps = Object.entries(info.capabilities)
        .filter(([, v]) => v)
        .map(([k]) => k);
      process.stdout.write(
        `${t.name.padEnd(14)} ${(info.reliable ? "reliable" : "unreliable").padEnd(10)} ${origin.padEnd(10)} ${t.description}${caps.length ? ` [${caps.join(", ")}]` : ""}\n`,
      );
    }
  }
  return 0;
}
