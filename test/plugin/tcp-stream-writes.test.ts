/**
 * Regression: two writes waiting on backpressure at once (a session ping while a data frame waits)
 * must both complete. The Bun socket path once kept one waiter and the first write hung forever.
 */
import { expect, test } from "bun:test";
import tcpStream from "../../plugins/tcp-stream/index.ts";
import type { StreamConnection, TransportContext } from "../../src/plugin/api.ts";

const ctx: TransportContext = {
  options: { extra: {} },
  log: { debug() {}, info() {}, warn() {} },
  stats() {},
};

test("concurrent writes under backpressure all resolve once the reader drains", async () => {
  let accepted!: (c: StreamConnection) => void;
  const server = new Promise<StreamConnection>((r) => (accepted = r));
  const listener = await tcpStream.listen({ host: "127.0.0.1", port: 0 }, ctx, (c) => accepted(c));
  const client = await tcpStream.dial(listener.address, ctx, new AbortController().signal);
  const peer = await server;
  const big = new Uint8Array(32 * 1024 * 1024);
  // Both wait: 64 MiB is far beyond the socket buffers while nobody reads.
  const first = client.write(big);
  const second = client.write(new Uint8Array(100));
  let settled = 0;
  void first.then(() => settled++);
  void second.then(() => settled++);
  await Bun.sleep(50);
  let received = 0;
  for await (const chunk of peer.readable) {
    received += chunk.byteLength;
    if (received === big.byteLength + 100) break;
  }
  // Bounded: the bug this is about is a write that never settles, which must fail here, not time out.
  await Promise.race([Promise.all([first, second]), Bun.sleep(2000)]);
  expect(settled).toBe(2);
  client.destroy();
  peer.destroy();
  await listener.close();
}, 20_000);
