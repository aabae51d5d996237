/**
 * A second TCP transport written as an outside author would, on xfer's shared TCP helpers: every
 * byte XORed with a key on the wire (so a session that works went through this code, not tcp-stream's).
 * Loaded beside the built-ins, it listens on the same TCP port as tcp-stream.
 */
import type { StreamConnection, TransportDefinition } from "xfer/plugin";
import { dialTcp, listenTcp } from "xfer/plugin/tcp";

const NAME = "tcp-shared-xor";
const KEY = 0xa5;

function xor(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  for (let i = 0; i < bytes.byteLength; i++) out[i] = bytes[i]! ^ KEY;
  return out;
}

function wrap(inner: StreamConnection): StreamConnection {
  return {
    remote: inner.remote,
    readable: (async function* () {
      for await (const chunk of inner.readable) yield xor(chunk);
    })(),
    // A copy either way: the caller may reuse its chunk once write() resolves.
    write: (chunk) => inner.write(xor(chunk)),
    end: () => inner.end(),
    destroy: (reason) => inner.destroy(reason),
  };
}

export default {
  name: NAME,
  description: "TCP with XORed bytes, on the shared TCP listener (a test fixture)",
  apiVersion: 1,
  kind: "stream",
  listen: (at, _ctx, onConnection) => listenTcp(at, NAME, (conn) => onConnection(wrap(conn))),
  dial: async (to, _ctx, signal) => wrap(await dialTcp(to, NAME, { timeoutMs: 5000, signal })),
} satisfies TransportDefinition<"stream">;
