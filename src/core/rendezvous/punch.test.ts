/** Punch probes: the codec a stranger can feed, the low-TTL priming, and two sockets finding each other. */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { formatPeer, type UdpConsumer, type UdpPeer, type UdpPort } from "../../plugin/udp/index.ts";
import { encodeProbe, isProbeFor, openPunchSocket, PRIME_TTL, PUNCH_TAG_BYTES, peerOf, punch } from "./punch.ts";

const tag = (n: number) => new Uint8Array(PUNCH_TAG_BYTES).fill(n);

describe("probes", () => {
  test("a probe is taken only with exactly our tag; any other bytes are not a probe for us", () => {
    expect(isProbeFor(encodeProbe(tag(7)), tag(7))).toBe(true);
    expect(isProbeFor(encodeProbe(tag(7)), tag(8))).toBe(false);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const ours = isProbeFor(bytes, tag(7));
        expect(ours).toBe(Buffer.compare(Buffer.from(bytes), Buffer.from(encodeProbe(tag(7)))) === 0);
      }),
      { seed: 1903, numRuns: 3000 },
    );
  });

  test("candidates a peer sends become probe targets only when they are IPv4 host:port", () => {
    expect(peerOf("203.0.113.5:40122")).toEqual({ address: "203.0.113.5", port: 40122 });
    for (const bad of ["203.0.113.5:0", "203.0.113.5:70000", "[::1]:5", "host:5", "1.2.3.4"])
      expect(peerOf(bad)).toBeNull();
  });
});

/** A port that records what was sent at which TTL, and lets the test deliver datagrams. */
function fakePort(canSetTtl: boolean) {
  let ttl = 64;
  const sent: { ttl: number; to: UdpPeer }[] = [];
  const consumers: UdpConsumer[] = [];
  const port: UdpPort = {
    local: { host: "0.0.0.0", port: 1 },
    impl: "fake",
    send(datagrams, to) {
      for (const _ of datagrams) sent.push({ ttl, to });
      return datagrams.length;
    },
    sent: async () => {},
    setTtl(t) {
      if (!canSetTtl) return false;
      ttl = t;
      return true;
    },
    attach(c) {
      consumers.push(c);
      return () => consumers.splice(consumers.indexOf(c), 1);
    },
    close() {},
  };
  return { port, sent, consumers, ttl: () => ttl };
}

describe("punch", () => {
  test("the first probes leave with a low TTL, then full ones; stop() leaves the socket at the full TTL", async () => {
    const f = fakePort(true);
    const p = punch(f.port, { theirs: ["203.0.113.5:4000"], theirTag: tag(1), myTag: tag(2), primeMs: 150 }, () => {});
    expect(f.sent.map((s) => s.ttl)).toEqual([PRIME_TTL]);
    await Bun.sleep(320);
    p.stop();
    const ttls = f.sent.map((s) => s.ttl);
    expect(ttls[0]).toBe(PRIME_TTL);
    expect(ttls.slice(1).every((t) => t === 64)).toBe(true);
    expect(ttls.length).toBeGreaterThanOrEqual(2);
    expect(f.ttl()).toBe(64);
    const count = f.sent.length;
    await Bun.sleep(150);
    expect(f.sent.length).toBe(count);
    expect(f.consumers).toEqual([]);
  });

  test("primeMs 0 (the sender, which punches only after the receiver's paths) probes at the full TTL at once", () => {
    const f = fakePort(true);
    const p = punch(f.port, { theirs: ["203.0.113.5:4000"], theirTag: tag(1), myTag: tag(2), primeMs: 0 }, () => {});
    expect(f.sent.map((s) => s.ttl)).toEqual([64]);
    p.stop();
  });

  test("the sender hears how long after its first full probe the answer came: the path's round trip", async () => {
    const f = fakePort(true);
    const peer = { address: "203.0.113.5", port: 4000 };
    const since: number[] = [];
    const p = punch(f.port, { theirs: [formatPeer(peer)], theirTag: tag(1), myTag: tag(2), primeMs: 0 }, (_, ms) =>
      since.push(ms),
    );
    await Bun.sleep(40);
    f.consumers[0]!.claim(encodeProbe(tag(2)), peer, false);
    p.stop();
    expect(since.length).toBe(1);
    // Not less than the wait; the upper bound only guards against a time counted from elsewhere.
    expect(since[0]!).toBeGreaterThanOrEqual(39);
    expect(since[0]!).toBeLessThan(1000);
  });

  test("hearing the peer ends the priming at once: the answer and what follows leave at the full TTL", () => {
    const f = fakePort(true);
    const peer = { address: "203.0.113.5", port: 4000 };
    const ttlWhenHeard: number[] = [];
    const p = punch(f.port, { theirs: [formatPeer(peer)], theirTag: tag(1), myTag: tag(2), primeMs: 10_000 }, () =>
      ttlWhenHeard.push(f.ttl()),
    );
    expect(f.sent.map((s) => s.ttl)).toEqual([PRIME_TTL]);
    f.consumers[0]!.claim(encodeProbe(tag(2)), peer, false);
    expect(ttlWhenHeard).toEqual([64]);
    // One full probe to the candidate, then the answer straight back: none of them primed.
    expect(f.sent.slice(1).map((s) => s.ttl)).toEqual([64, 64]);
    p.stop();
    expect(f.ttl()).toBe(64);
  });

  test("a stranger's probe (wrong tag) is swallowed and not heard; the peer's is heard once and answered once", () => {
    const f = fakePort(false);
    const heard: UdpPeer[] = [];
    const p = punch(f.port, { theirs: [], theirTag: tag(1), myTag: tag(2) }, (from) => heard.push(from));
    const stranger = { address: "198.51.100.9", port: 9 };
    const peer = { address: "203.0.113.5", port: 4000 };
    expect(f.consumers[0]!.claim(encodeProbe(tag(3)), stranger, false)).toBe(true);
    expect(f.consumers[0]!.claim(encodeProbe(tag(2)), peer, false)).toBe(true);
    expect(f.consumers[0]!.claim(encodeProbe(tag(2)), peer, false)).toBe(true);
    expect(f.consumers[0]!.claim(new Uint8Array([0x55, 1, 2]), peer, false)).toBe(false);
    expect(heard).toEqual([peer]);
    expect(f.sent.map((s) => s.to)).toEqual([peer]);
    p.stop();
  });

  test("two real sockets on loopback find each other", async () => {
    const [a, b] = [await openPunchSocket(), await openPunchSocket()];
    const heard = { a: [] as UdpPeer[], b: [] as UdpPeer[] };
    const pa = punch(a, { theirs: [`127.0.0.1:${b.local.port}`], theirTag: tag(2), myTag: tag(1) }, (p) =>
      heard.a.push(p),
    );
    const pb = punch(b, { theirs: [`127.0.0.1:${a.local.port}`], theirTag: tag(1), myTag: tag(2) }, (p) =>
      heard.b.push(p),
    );
    for (let i = 0; i < 100 && (heard.a.length === 0 || heard.b.length === 0); i++) await Bun.sleep(10);
    expect(heard.a).toEqual([{ address: "127.0.0.1", port: b.local.port }]);
    expect(heard.b).toEqual([{ address: "127.0.0.1", port: a.local.port }]);
    pa.stop();
    pb.stop();
    a.close();
    b.close();
  });
});
