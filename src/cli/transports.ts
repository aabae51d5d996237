/** The composition root: which transports this process knows, and the context each one gets. */
import { BUILTIN_TRANSPORTS } from "../../plugins/builtin.ts";
import type { EventSink } from "../core/events.ts";
import type { AnyTransport, TransportContext, TransportOptions } from "../plugin/api.ts";
import { currentEnvironment, loadPlugins, type PluginEnvironment, pluginSources } from "../plugin/loader.ts";
import { TransportRegistry } from "../plugin/registry.ts";

/**
 * Built-ins first, so a plugin can never take over a built-in's name; then plugins from
 * `--plugin` paths, XFER_PLUGINS and the per-user folder (see src/plugin/loader.ts).
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
