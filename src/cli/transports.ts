/** The composition root: which transports this process knows, and the context each one gets. */
import { BUILTIN_TRANSPORTS } from "../../plugins/builtin.ts";
import type { EventSink } from "../core/events.ts";
import { currentEnvironment, loadPlugins, type PluginEnvironment, pluginSources } from "../host/loader.ts";
import { TransportRegistry } from "../host/registry.ts";
import type { AnyTransport, TransportContext, TransportOptions } from "../plugin/api.ts";

/**
 * Built-ins first, so a plugin can never take over a built-in's name; then plugins from
 * `--plugin` paths, XFER_PLUGINS and the per-user folder (see src/host/loader.ts).
 */
export async function loadTransports(
  pluginPaths: readonly string[] = [],
  environment: PluginEnvironment = currentEnvironment(),
): Promise<TransportRegistry> {
  const registry = new TransportRegistry();
  for (const t of BUILTIN_TRANSPORTS) registry.register(t, "built-in");
  await loadPlugins(registry, await pluginSources(pluginPaths, environment));
  return registry;
}

export function contextFor(
  transport: AnyTransport,
  options: TransportOptions,
  emit: EventSink,
  verbose: boolean,
): TransportContext {
  const prefix = `${transport.name}: `;
  const bare = (m: string) => (m.startsWith(prefix) ? m.slice(prefix.length) : m);
  return {
    options,
    // Each line is named once: a plugin that names itself in its message is not named twice.
    log: {
      debug: (m) => verbose && emit({ event: "log", level: "debug", transport: transport.name, message: bare(m) }),
      info: (m) => verbose && emit({ event: "log", level: "info", transport: transport.name, message: bare(m) }),
      warn: (m) => emit({ event: "warning", message: `${transport.name}: ${bare(m)}` }),
    },
    // "event" first in the JSON line, and never overridden by a value of the same name.
    stats: (values) =>
      emit(
        Object.assign({ event: "stats" as const, transport: transport.name }, values, {
          event: "stats" as const,
          transport: transport.name,
        }),
      ),
  };
}
