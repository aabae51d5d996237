/**
 * A wall between plugin code and the core: what listen() and dial() hand back is checked before the
 * core touches it, and an abort signal is honoured even when the plugin ignores it. A broken plugin
 * then fails with its name and the wrong field instead of a TypeError deep inside a session.
 */
import { z } from "zod";
import type {
  AnyTransport,
  ConnectionOf,
  Endpoint,
  Listener,
  TransportContext,
  TransportDefinition,
  TransportKind,
  UdpPath,
} from "../plugin/api.ts";

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === "function", "must be a function");
const asyncIterable = z.custom<AsyncIterable<Uint8Array>>(
  (v) => typeof (v as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === "function",
  "must be an AsyncIterable<Uint8Array>",
);

const ListenerShape = z.object({
  address: z.object({ host: z.string(), port: z.number().int().min(0).max(65535) }),
  close: fn,
});

const ConnectionShapes = {
  stream: z.object({ remote: z.string(), readable: asyncIterable, write: fn, end: fn, destroy: fn }),
  datagram: z.object({
    remote: z.string(),
    maxDatagramSize: z.number().int().positive(),
    send: fn,
    datagrams: asyncIterable,
    close: fn,
  }),
} as const;

/** The first problem with `value` as `what`, worded for the plugin's author; null when it fits. */
function problemWith(shape: z.ZodType, value: unknown, what: string): string | null {
  // safeParse only to check: the parsed copy would drop the plugin's prototype and private state.
  const r = shape.safeParse(value);
  if (r.success) return null;
  return `${what} is invalid: ${r.error.issues.map((i) => `${i.path.join(".") || "(value)"}: ${i.message}`).join("; ")}`;
}

/** Wrap a validated definition; the result behaves the same for a correct plugin. */
export function guardTransport<K extends TransportKind>(
  t: TransportDefinition<K>,
  origin: string,
): TransportDefinition<K> {
  const label = `transport '${t.name}' (${origin})`;
  const connShape = ConnectionShapes[t.kind];
  const checked = (conn: ConnectionOf<K>, what: string): ConnectionOf<K> => {
    const problem = problemWith(connShape, conn, `${label}: ${what}`);
    if (problem) throw new Error(problem);
    return conn;
  };
  return {
    name: t.name,
    description: t.description,
    apiVersion: t.apiVersion,
    kind: t.kind,
    capabilities: t.capabilities,
    options: t.options,
    async listen(at: Endpoint, ctx: TransportContext, onConnection: (conn: ConnectionOf<K>) => void, path?: UdpPath) {
      let listener: Listener;
      try {
        listener = await t.listen(
          at,
          ctx,
          (conn) => {
            try {
              onConnection(checked(conn, "the connection passed to onConnection"));
            } catch (err) {
              ctx.log.warn(err instanceof Error ? err.message : String(err));
            }
          },
          path,
        );
      } catch (err) {
        throw named(err, label);
      }
      const problem = problemWith(ListenerShape, listener, `${label}: the Listener returned by listen()`);
      if (problem) throw new Error(problem);
      return listener;
    },
    dial(to: Endpoint, ctx: TransportContext, signal: AbortSignal, path?: UdpPath) {
      return new Promise<ConnectionOf<K>>((resolve, reject) => {
        const onAbort = () => reject(new Error(`${label}: dial to ${to.host}:${to.port} aborted`));
        if (signal.aborted) return onAbort();
        signal.addEventListener("abort", onAbort, { once: true });
        Promise.resolve()
          .then(() => t.dial(to, ctx, signal, path))
          .then(
            (conn) => {
              signal.removeEventListener("abort", onAbort);
              // A plugin that ignored the signal may still connect after we gave up: do not leak it.
              if (signal.aborted) return closeLate(conn);
              resolve(checked(conn, "the connection returned by dial()"));
            },
            (err: unknown) => {
              signal.removeEventListener("abort", onAbort);
              reject(err);
            },
          )
          .catch(reject);
      });
    },
    // Bounded by the caller (settleTransports); a throwing settle() only loses the wait.
    settle: t.settle ? () => Promise.resolve().then(() => t.settle?.()) : undefined,
  };
}

/** The same failure, its message prefixed with the plugin; `code` (EADDRINUSE...) is kept for the core. */
function named(err: unknown, label: string): Error {
  const message = err instanceof Error ? err.message : String(err);
  const out = new Error(`${label}: ${message}`, { cause: err }) as NodeJS.ErrnoException;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code) out.code = code;
  return out;
}

function closeLate(conn: unknown): void {
  const c = conn as { destroy?: unknown; close?: unknown } | null;
  if (typeof c?.destroy === "function") (c.destroy as () => void)();
  else if (typeof c?.close === "function") (c.close as () => void)();
}

/** Guard either kind; the kind check narrows the union for the generic wrapper. */
export function guardAny(t: AnyTransport, origin: string): AnyTransport {
  return t.kind === "stream" ? guardTransport(t, origin) : guardTransport(t, origin);
}
