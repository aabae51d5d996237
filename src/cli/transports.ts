/** The composition root: which transports this process knows, and the context each one gets. */
import { BUILTIN_TRANSPORTS } from "../../plugins/builtin.ts";
import type { EventSink } from "../core/events.ts";
import type { AnyTransport, TransportContext, TransportOptions } from "../plugin/api.ts";
import { TransportRegistry } from "../plugin/registry.ts";

export async function loadTransports(): Promise<TransportRegistry> {
  const registry = new TransportRegistry();
  for (const t of BUILTIN_TRANSPORTS) registry.register(t, "built-in");
  return registry;
}

export function contextFor(
  transport: AnyTransport,
  options: TransportOptions,
  emit: EventSink,
  verbose: boolean,
): TransportContext {
  return {
    options,
    log: {
      debug: (m) => verbose && emit({ event: "warning", message: `${transport.name}: ${m}` }),
      info: (m) => verbose && emit({ event: "warning", message: `${transport.name}: ${m}` }),
      warn: (m) => emit({ event: "warning", message: `${transport.name}: ${m}` }),
    },
    stats: (values) => emit({ ...values, event: "stats", transport: transport.name }),
  };
}
