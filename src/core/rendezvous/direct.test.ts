import { describe, expect, test } from "bun:test";
import tcp from "../../../plugins/tcp-stream/index.ts";
import udpReliable from "../../../plugins/udp-reliable/index.ts";
import type { StreamConnection, TransportContext } from "../../plugin/api.ts";
import { chooseDirectOrRelay, type DirectOptions, type UdpOffer } from "./direct.ts";
import { openPunchSocket } from "./punch.ts";

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

  const offer = async (): Promise<UdpOffer> => ({
    transport: udpReliable,
    port: await openPunchSocket(),
    reflected: null,
  });

  test("punched UDP (TCP off, as with --via udp-reliable): both sides move to udp-reliable over their punching sockets", async () => {
    const [mine, theirs] = [await offer(), await offer()];
    const receiverPort = theirs.port.local.port;
    const udp = { tcp: false, prefer: "direct-udp" as const };
    const [s, r] = await both(await relayedPair(), { ...udp, udp: mine }, { ...udp, udp: theirs });
    expect([s.path, r.path]).toEqual(["direct-udp", "direct-udp"]);
    // The sender dialed from its punching socket to the receiver's: the same two ports the probes used.
    expect(s.remote).toBe(`127.0.0.1:${receiverPort}`);
    expect(r.remote).toBe(`127.0.0.1:${mine.port.local.port}`);
    const big = new Uint8Array(300_000).map((_, i) => i % 251);
    await s.conn.write(big);
    await s.conn.end();
    let got = 0;
    for await (const chunk of r.conn.readable) got += chunk.byteLength;
    expect(got).toBe(big.byteLength);
    await r.conn.write(new TextEncoder().encode("verdicts over UDP"));
    expect(await firstChunk(s.conn)).toBe("verdicts over UDP");
    s.conn.destroy();
    r.conn.destroy();
  });

  test("the receiver answers the sender's paths only after its first probe left, and the sender probes only after that answer", async () => {
    const order: string[] = [];
    const watched = (o: UdpOffer, who: string): UdpOffer => ({
      ...o,
      port: {
        ...o.port,
        send(d, to) {
          order.push(`${who} probes`);
          return o.port.send(d, to);
        },
      },
    });
    const wrote = (conn: StreamConnection, who: string): StreamConnection => ({
      remote: conn.remote,
      readable: conn.readable,
      write(chunk) {
        order.push(`${who} writes`);
        return conn.write(chunk);
      },
      end: () => conn.end(),
      destroy: (e) => conn.destroy(e),
    });
    const [a, b] = await relayedPair();
    const udp = { tcp: false, prefer: "direct-udp" as const };
    const [s, r] = await both(
      [wrote(a, "sender"), wrote(b, "receiver")],
      { ...udp, udp: watched(await offer(), "sender") },
      { ...udp, udp: watched(await offer(), "receiver") },
    );
    expect([s.path, r.path]).toEqual(["direct-udp", "direct-udp"]);
    const first = (what: string) => order.indexOf(what);
    expect(first("sender writes")).toBeGreaterThanOrEqual(0);
    expect(first("sender writes")).toBeLessThan(first("receiver probes"));
    expect(first("receiver probes")).toBeLessThan(first("receiver writes"));
    expect(first("receiver writes")).toBeLessThan(first("sender probes"));
    s.conn.destroy();
    r.conn.destroy();
  });

  test("both TCP and UDP work: the default prefers direct TCP, and the punching sockets are let go", async () => {
    const [mine, theirs] = [await offer(), await offer()];
    const [s, r] = await both(await relayedPair(), { udp: mine }, { udp: theirs });
    expect([s.path, r.path]).toEqual(["direct", "direct"]);
    // A closed handle sends nothing (send() takes 0): neither side keeps its punching socket.
    const to = { address: "127.0.0.1", port: 9 };
    await Bun.sleep(50);
    expect([mine.port.send([new Uint8Array(1)], to), theirs.port.send([new Uint8Array(1)], to)]).toEqual([0, 0]);
    s.conn.destroy();
    r.conn.destroy();
  });

  test("no probe ever arrives (neither side has a candidate the other reaches): the relay, saying why", async () => {
    const deaf = { interfaces: [], seenAs: "[2001:db8::1]:1000", peerSeenAs: "[2001:db8::2]:2000" };
    const started = performance.now();
    const [s, r] = await both(
      await relayedPair(),
      { ...deaf, tcp: false, prefer: "direct-udp", udp: await offer(), punchWindowMs: 400 },
      { ...deaf, tcp: false, udp: await offer() },
    );
    expect([s.path, r.path]).toEqual(["relayed", "relayed"]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);
    expect(s.udpFailed).toMatch(/no probe from the other side's 0 UDP candidates/);
    expect(r.udpFailed).toBe("the sender found no punched path");
    await s.conn.write(new TextEncoder().encode("still relayed"));
    expect(await firstChunk(r.conn)).toBe("still relayed");
    s.conn.destroy();
    r.conn.destroy();
  });

  test("a punched path with another code on the other end is not taken: both stay on the relay", async () => {
    const udp = { tcp: false, prefer: "direct-udp" as const, punchWindowMs: 600 };
    const [s, r] = await both(
      await relayedPair(),
      { ...udp, udp: await offer() },
      { ...udp, udp: await offer(), code: "7-some-other-code-here" },
    );
    expect([s.path, r.path]).toEqual(["relayed", "relayed"]);
    s.conn.destroy();
    r.conn.destroy();
  });
});
