/**
 * The set of transports a process knows. Everything registered is checked against the API's
 * shape first, so a broken plugin fails with its name and the wrong field, not deep in a session.
 */
import { z } from "zod";
import { XferError } from "../core/errors.ts";
import { type AnyTransport, TRANSPORT_API_VERSION } from "../plugin/api.ts";
import { guardAny } from "./guard.ts";

export const TransportShape = z.object({
  name: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, "lowercase letters, digits and '-', starting with a letter"),
  description: z.string().min(1).max(200),
  apiVersion: z.literal(TRANSPORT_API_VERSION, { error: `must be ${TRANSPORT_API_VERSION} (this xfer's plugin API)` }),
  kind: z.enum(["stream", "datagram"]),
  capabilities: z
    .object({ udpOnly: z.boolean().optional(), rateLimit: z.boolean().optional(), udpPath: z.boolean().optional() })
    .optional(),
  // Duck-typed: a plugin may bring its own copy of zod, whose classes are not this one's.
  options: z
    .custom<NonNullable<AnyTransport["options"]>>(
      (v) =>
        typeof (v as { safeParse?: unknown })?.safeParse === "function" &&
        typeof (v as { shape?: unknown }).shape === "object",
      "must be a zod object (z.object({...}))",
    )
    .optional(),
  listen: z.custom<AnyTransport["listen"]>((v) => typeof v === "function", "must be a function"),
  dial: z.custom<AnyTransport["dial"]>((v) => typeof v === "function", "must be a function"),
  settle: z
    .custom<NonNullable<AnyTransport["settle"]>>((v) => typeof v === "function", "must be a function")
    .optional(),
});

export interface RegisteredTransport {
  transport: AnyTransport;
  /** "built-in" or the file it was loaded from. */
  origin: string;
}

export class TransportRegistry {
  private readonly byName = new Map<string, RegisteredTransport>();

  /**
   * Validates, guards (see guard.ts) and adds. Throws a usage XferError naming `origin`, where in the
   * module the value sits (`exportPath`, e.g. "default[1]") and the offending field.
   */
  register(candidate: unknown, origin: string, exportPath = "default"): AnyTransport {
    const problem = shapeProblem(candidate, exportPath);
    if (problem) throw new XferError("usage", `transport plugin ${origin} is invalid: ${problem}`);
    const transport = candidate as AnyTransport;
    const clash = this.byName.get(transport.name);
    if (clash)
      throw new XferError(
        "usage",
        `transport '${transport.name}' from ${origin} clashes with the one from ${clash.origin}; rename the plugin's transport`,
      );
    const guarded = guardAny(transport, origin);
    this.byName.set(transport.name, { transport: guarded, origin });
    return guarded;
  }

  get(name: string): RegisteredTransport | undefined {
    return this.byName.get(name);
  }

  list(): RegisteredTransport[] {
    return [...this.byName.values()];
  }
}

/** Every wrong field of a would-be transport definition, or null when it fits the API. */
export function shapeProblem(candidate: unknown, exportPath = "default"): string | null {
  const parsed = TransportShape.safeParse(candidate);
  if (parsed.success) return null;
  return parsed.error.issues.map((i) => `${[exportPath, ...i.path].join(".")}: ${i.message}`).join("; ");
}
