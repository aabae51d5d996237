/**
 * The set of transports a process knows. Everything registered is checked against the API's
 * shape first, so a broken plugin fails with its name and the wrong field, not deep in a session.
 */
import { z } from "zod";
import { type AnyTransport, TRANSPORT_API_VERSION } from "./api.ts";

export const TransportShape = z.object({
  name: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, "lowercase letters, digits and '-', starting with a letter"),
  description: z.string().min(1).max(200),
  apiVersion: z.literal(TRANSPORT_API_VERSION, { error: `must be ${TRANSPORT_API_VERSION} (this xfer's plugin API)` }),
  kind: z.enum(["stream", "datagram"]),
  capabilities: z.object({ udpOnly: z.boolean().optional(), rateLimit: z.boolean().optional() }).optional(),
  listen: z.custom<AnyTransport["listen"]>((v) => typeof v === "function", "must be a function"),
  dial: z.custom<AnyTransport["dial"]>((v) => typeof v === "function", "must be a function"),
});

export interface RegisteredTransport {
  transport: AnyTransport;
  /** "built-in" or the file it was loaded from. */
  origin: string;
}

export class TransportRegistry {
  private readonly byName = new Map<string, RegisteredTransport>();

  /** Validates and adds; throws an Error naming `origin` and the offending field. */
  register(candidate: unknown, origin: string): AnyTransport {
    const parsed = TransportShape.safeParse(candidate);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(export)"}: ${i.message}`).join("; ");
      throw new Error(`transport plugin ${origin} is invalid: ${issues}`);
    }
    const transport = candidate as AnyTransport;
    const clash = this.byName.get(transport.name);
    if (clash)
      throw new Error(`transport '${transport.name}' from ${origin} clashes with the one from ${clash.origin}`);
    this.byName.set(transport.name, { transport, origin });
    return transport;
  }

  get(name: string): RegisteredTransport | undefined {
    return this.byName.get(name);
  }

  list(): RegisteredTransport[] {
    return [...this.byName.values()];
  }
}
