/**
 * tcp-stream: the session's bytes over one TCP connection, as fast as the kernel allows. The socket
 * work is the public TCP helpers' (src/plugin/tcp/): Bun's native sockets on Bun (measured: more
 * throughput, and about 30 MB less memory per GiB received than node:net), node:net elsewhere.
 */
import { z } from "zod";
import { defineTransport, TRANSPORT_API_VERSION } from "../../src/plugin/api.ts";
import { dialTcp, listenTcp } from "../../src/plugin/tcp/index.ts";

/** How long to wait for a TCP handshake before calling the host unreachable. */
const CONNECT_TIMEOUT_MS = 10_000;

const NAME = "tcp-stream";

export default defineTransport({
  name: NAME,
  description: "plain TCP: one connection, as fast as the kernel allows",
  apiVersion: TRANSPORT_API_VERSION,
  kind: "stream",
  capabilities: { udpOnly: false, rateLimit: false },
  options: z.strictObject({
    connectTimeoutMs: z
      .string()
      .regex(/^[1-9]\d*$/, "milliseconds, a positive whole number")
      .optional()
      .describe(`how long dial waits for the TCP handshake, in ms (default ${CONNECT_TIMEOUT_MS})`),
  }),

  // Untagged too: a sender from before the preamble speaks the session at once, over tcp-stream.
  listen: (at, _ctx, onConnection) => listenTcp(at, NAME, onConnection, { untagged: true }),

  dial(to, ctx, signal) {
    const timeoutMs = Number(ctx.options.extra.connectTimeoutMs ?? CONNECT_TIMEOUT_MS);
    return dialTcp(to, NAME, { timeoutMs, signal });
  },
});
