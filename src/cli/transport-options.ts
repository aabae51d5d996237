/**
 * `--transport-opt` and `--rate` checked against what the chosen transports declare, before anything
 * listens or dials: a typo is a usage error (exit 2) here, not a surprise halfway through a session.
 */
import { XferError } from "../core/errors.ts";
import type { AnyTransport, TransportOptions } from "../plugin/api.ts";

export interface OptionInfo {
  key: string;
  description: string;
}

/** The settings a transport declares, with their help text (empty when it declares none). */
export function declaredOptions(t: AnyTransport): OptionInfo[] {
  return Object.entries(t.options?.shape ?? {}).map(([key, field]) => ({
    key,
    description: (field as { description?: string }).description ?? "",
  }));
}

/**
 * A key is unknown when no chosen transport declares it and none takes free-form settings; a value
 * is malformed when a transport that declares the key refuses it.
 */
export function checkTransportOptions(transports: readonly AnyTransport[], options: TransportOptions): void {
  const extra = options.extra;
  const takesAnything = transports.some((t) => !t.options);
  const names = transports.map((t) => t.name).join(", ");
  for (const key of Object.keys(extra)) {
    if (takesAnything || transports.some((t) => t.options && key in t.options.shape)) continue;
    const known = [...new Set(transports.flatMap((t) => declaredOptions(t).map((o) => o.key)))];
    throw new XferError(
      "usage",
      `unknown --transport-opt '${key}' for ${names} (${known.length ? `known: ${known.join(", ")}` : "it takes none"}; see: xfer transports --verbose)`,
    );
  }
  for (const t of transports) {
    if (!t.options) continue;
    const mine = Object.fromEntries(Object.entries(extra).filter(([k]) => k in t.options!.shape));
    const parsed = t.options.safeParse(mine);
    if (!parsed.success)
      throw new XferError(
        "usage",
        `--transport-opt for ${t.name}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(value)"}: ${i.message}`).join("; ")}`,
      );
  }
}

/**
 * `--rate` where no chosen transport paces is an error rather than a silent no-op; where only some
 * do, the others are named in a warning.
 */
export function rateProblem(transports: readonly AnyTransport[], options: TransportOptions): string | null {
  if (options.rateBitsPerSecond === undefined) return null;
  const ignoring = transports.filter((t) => !t.capabilities?.rateLimit).map((t) => t.name);
  if (ignoring.length === 0) return null;
  return `--rate does not apply to ${ignoring.join(", ")}: it does not pace what it sends (transports marked rateLimit in 'xfer transports' do)`;
}
