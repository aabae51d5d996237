import { describe, expect, test } from "bun:test";
import tcp from "../../../plugins/tcp-stream/index.ts";
import type { StreamConnection, TransportContext } from "../../plugin/api.ts";
import { chooseDirectOrRelay, type DirectOptions } from "./direct.ts";

const ctx: TransportContext = {
  options: { extra: {} },
  log: { debug() {}, info() {}, warn() {} },
  stats() {},
};
const CODE = "7-direct-path-test-code";
const LOOPBACK = [{ address: "127.0.0.1", family: "IPv4", internal: true }];

/** A connected pair over loopback TCP: stands in for the sealed stream through the relay. */
async function relayedPair(): Promise<[StreamConnection, StreamConnection]> {
  let accepted: (c: StreamConnection) => void = () => {};
  const got = new Promise<StreamConnection>((r) => {
    accepted = r;
  });
  const listener = await tcp.listen({ host: "127.0.0.1", port: 0 }, ctx, (c) => accepted(c));
  const dialed = await tcp.dial(listener.address, ctx, new AbortController().signal);
  const other = await got;
  await listener.close();
  return [dialed, other];
}

async function firstChunk(conn: StreamConnection): Promise<string> {
  for await (const chunk of conn.readable) if (chunk.byteLength > 0) return new TextDecoder().decode(chunk);
  return "";
}

function both(
  relayed: [StreamConnection, StreamConnection],
  sender: Partial<DirectOptions>,
  receiver: Partial<DirectOptions>,
) {
  const base = { code: CODE, base: tcp, ctx, seenAs: "127.0.0.1:1000", peerSeenAs: "127.0.0.1:2000", direct: true };
  return Promise.all([
    chooseDirectOrRelay(relayed[0], { ...base, role: "sender", interfaces: LOOPBACK, ...sender }),
    chooseDirectOrRelay(relayed[1], { ...base, role: "receiver", interfaces: LOOPBACK, ...receiver }),
  ]);
}

describe("chooseDirectOrRelay", () => {
  test("both reachable: both sides move to the same direct connection, and it carries bytes both ways", async () => {
    const [s, r] = await both(await relayedPair(), {}, {});
    expect(s.path).toBe("direct");
    expect(r.path).toBe("direct");
    expect(s.handshakeMs).toBeGreaterThan(0);
    await s.conn.write(new TextEncoder().encode("to the receiver"));
    expect(await firstChunk(r.conn)).toBe("to the receiver");
    await r.conn.write(new TextEncoder().encode("to the sender"));
    expect(await firstChunk(s.conn)).toBe("to the sender");
    s.conn.destroy();
    r.conn.destroy();
  });

  test("either side with direct off: both stay on the relay at once, and the relay carries what follows", async () => {
    for (const [sender, receiver] of [
      [{ direct: false }, {}],
      [{}, { direct: false }],
    ] as const) {
      const started = performance.now();
      const [s, r] = await both(await relayedPair(), sender, receiver);
      expect([s.path, r.path]).toEqual(["relayed", "relayed"]);
      expect(performance.now() - started).toBeLessThan(700); // no waiting out the window
      await s.conn.write(new TextEncoder().encode("over the relay"));
      expect(await firstChunk(r.conn)).toBe("over the relay");
      s.conn.destroy();
      r.conn.destroy();
    }
  });

  test("nothing to try: both stay on the relay at once, without waiting out the window", async () => {
    // No interfaces and an IPv6 outside address (not offered): neither side has a candidate. (Dead-end
    // candidates behind NATs are the namespace test's case: test/e2e/relay-netns.test.ts.)
    const none = { interfaces: [], seenAs: "[2001:db8::1]:1000", peerSeenAs: "[2001:db8::2]:2000", windowMs: 3000 };
    const started = performance.now();
    const [s, r] = await both(await relayedPair(), none, none);
    expect([s.path, r.path]).toEqual(["relayed", "relayed"]);
    expect(performance.now() - started).toBeLessThan(1500);
    await r.conn.write(new TextEncoder().encode("verdicts come back"));
    expect(await firstChunk(s.conn)).toBe("verdicts come back");
    s.conn.destroy();
    r.conn.destroy();
  });

  test("a peer with another code on the direct path cannot take it: both stay on the relay", async () => {
    const [s, r] = await both(await relayedPair(), { windowMs: 400 }, { code: "7-some-other-code-here" });
    expect([s.path, r.path]).toEqual(["relayed", "relayed"]);
    s.conn.destroy();
    r.conn.destroy();
  });
});
