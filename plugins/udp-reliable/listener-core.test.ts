import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { Connection, DEFAULT_CONFIG } from "./connection.ts";
import { ListenerCore, type Peer } from "./listener-core.ts";
import { FRAME } from "./wire/frames.ts";
import {
  CID_BYTES,
  COOKIE_BYTES,
  encodeSyn,
  MAGIC,
  MIN_DATAGRAM,
  PACKET,
  readPacket,
  startData,
  startEcho,
  WIRE_VERSION,
} from "./wire/packet.ts";
import { writeU48 } from "./wire/varint.ts";

const PEER: Peer = { address: "10.0.0.1", port: 5000 };

/** Deterministic server CIDs: 0xA0+n, then n. */
function cids(): () => Uint8Array {
  let n = 0;
  return () => {
    n++;
    return Uint8Array.from([0xa0 + n, 0, 0, 0, 0, 0, 0, n]);
  };
}

function listener(maxConnections = 8): ListenerCore {
  return new ListenerCore(() => DEFAULT_CONFIG, maxConnections, cids());
}

function clientCid(n: number): Uint8Array {
  return Uint8Array.from([0x10, n, 0, 0, 0, 0, 0, n]);
}

/** Runs a real client through SYN → SYN-ACK and returns its ECHO datagram (not yet delivered). */
function echoFrom(core: ListenerCore, peer: Peer, n: number, now: number): { echo: Uint8Array; client: Connection } {
  const client = new Connection("client", clientCid(n), new Uint8Array(CID_BYTES), DEFAULT_CONFIG, now);
  const [syn] = client.poll(now);
  const routed = core.receive(syn as Uint8Array, peer, now);
  expect(routed.replies.length).toBe(1);
  client.receiveDatagram((routed.replies[0] as { bytes: Uint8Array }).bytes, now);
  expect(client.state).toBe("echo-sent");
  const [echo] = client.poll(now);
  return { echo: (echo as Uint8Array).slice(), client };
}

function dataTo(dcid: Uint8Array, pn: number): Uint8Array {
  return startData(new Uint8Array(64), dcid, pn).u8(FRAME.ping).done().slice();
}

describe("handshake", () => {
  test("a SYN gets a SYN-ACK carrying a cookie, and creates nothing", () => {
    const core = listener();
    const syn = encodeSyn(clientCid(1), { maxDatagram: 1472, initialMaxData: 1000, idleTimeoutMs: 5000 });
    const routed = core.receive(syn, PEER, 100);
    expect(routed.conn).toBeUndefined();
    expect(routed.created).toBeUndefined();
    expect(core.size).toBe(0);
    expect(routed.replies.length).toBe(1);
    const reply = routed.replies[0] as { to: Peer; bytes: Uint8Array };
    expect(reply.to).toEqual(PEER);
    expect(reply.bytes.byteLength).toBeLessThan(syn.byteLength);
    const p = readPacket(reply.bytes);
    if (p.type !== "syn-ack") throw new Error(`got ${p.type}`);
    expect(p.clientCid).toEqual(clientCid(1));
    expect(p.serverCid).toEqual(Uint8Array.from([0xa1, 0, 0, 0, 0, 0, 0, 1]));
    expect(p.cookie.byteLength).toBe(COOKIE_BYTES);
    expect(p.params).toEqual({
      maxDatagram: 65507,
      initialMaxData: DEFAULT_CONFIG.window.initial,
      idleTimeoutMs: DEFAULT_CONFIG.idleTimeoutMs,
    });
    // Many SYNs: still nothing held.
    for (let i = 0; i < 100; i++) core.receive(syn, { address: "10.0.0.2", port: i }, 100 + i);
    expect(core.size).toBe(0);
    expect(core.counters).toEqual({ malformed: 0, badCookies: 0, resets: 0, refused: 0 });
  });

  test("a valid ECHO creates an established server connection; a repeat goes to it", () => {
    const core = listener();
    const { echo } = echoFrom(core, PEER, 1, 1000);
    const routed = core.receive(echo, PEER, 1020);
    expect(routed.created).toBe(true);
    expect(routed.replies).toEqual([]);
    const conn = routed.conn as Connection;
    expect(conn.role).toBe("server");
    expect(conn.state).toBe("established");
    expect(conn.localCid).toEqual(Uint8Array.from([0xa1, 0, 0, 0, 0, 0, 0, 1]));
    expect(conn.remoteCid).toEqual(clientCid(1));
    expect(core.size).toBe(1);
    expect(core.peerOf(conn)).toEqual(PEER);
    // The server answers the ECHO's PING.
    expect(conn.poll(1020).length).toBeGreaterThan(0);
    const again = core.receive(echo, PEER, 1030);
    expect(again.conn).toBe(conn);
    expect(again.created).toBeUndefined();
    expect(core.size).toBe(1);
  });

  test("the full handshake completes on the client when the server's reply arrives", () => {
    const core = listener();
    const { echo, client } = echoFrom(core, PEER, 1, 0);
    const conn = core.receive(echo, PEER, 10).conn as Connection;
    for (const d of conn.poll(10)) client.receiveDatagram(d, 20);
    expect(client.state).toBe("established");
  });

  test("an ECHO from another address or port, too late, or with a tampered cookie creates nothing", () => {
    const cases: [string, (echo: Uint8Array) => [Uint8Array, Peer, number]][] = [
      ["other port", (e) => [e, { ...PEER, port: 5001 }, 100]],
      ["other address", (e) => [e, { ...PEER, address: "10.0.0.9" }, 100]],
      ["expired", (e) => [e, PEER, 10_000 + 1]],
      [
        "tampered cookie",
        (e) => {
          const t = e.slice();
          const at = 2 + 2 * CID_BYTES + 6 + 10; // a MAC byte
          t[at] = (t[at] as number) ^ 1;
          return [t, PEER, 100];
        },
      ],
      [
        "tampered params",
        (e) => {
          const t = e.slice();
          const at = 2 + 2 * CID_BYTES + 6 + COOKIE_BYTES + 1; // low byte of maxDatagram
          t[at] = (t[at] as number) ^ 1;
          return [t, PEER, 100];
        },
      ],
    ];
    for (const [name, mutate] of cases) {
      const core = listener();
      const { echo } = echoFrom(core, PEER, 1, 0);
      const [bytes, from, now] = mutate(echo);
      const routed = core.receive(bytes, from, now);
      expect({ name, conn: routed.conn, replies: routed.replies }).toEqual({ name, conn: undefined, replies: [] });
      expect(core.size).toBe(0);
      expect(core.counters.badCookies).toBe(1);
      // The genuine ECHO, in time, still works.
      expect(core.receive(echo, PEER, 200).created).toBe(true);
    }
  });

  test("one address gets at most maxPerAddress connections; other addresses still get in", () => {
    const core = new ListenerCore(() => DEFAULT_CONFIG, 8, cids(), 2);
    for (const [i, port] of [5001, 5002].entries()) {
      const { echo } = echoFrom(core, { ...PEER, port }, i + 1, 0);
      expect(core.receive(echo, { ...PEER, port }, 5).created).toBe(true);
    }
    const third = echoFrom(core, { ...PEER, port: 5003 }, 3, 0);
    expect(core.receive(third.echo, { ...PEER, port: 5003 }, 5).conn).toBeUndefined();
    expect(core.counters.refused).toBe(1);
    const other = { address: "127.0.0.9", port: 5003 };
    const fourth = echoFrom(core, other, 4, 0);
    expect(core.receive(fourth.echo, other, 5).created).toBe(true);
    expect(core.size).toBe(3);
  });

  test("beyond maxConnections, or after stopAccepting, a valid ECHO is refused", () => {
    const core = listener(1);
    const a = echoFrom(core, PEER, 1, 0);
    const b = echoFrom(core, { ...PEER, port: 6000 }, 2, 0);
    expect(core.receive(a.echo, PEER, 5).created).toBe(true);
    expect(core.receive(b.echo, { ...PEER, port: 6000 }, 5).conn).toBeUndefined();
    expect(core.counters.refused).toBe(1);
    expect(core.size).toBe(1);

    const closing = listener();
    const c = echoFrom(closing, PEER, 3, 0);
    closing.stopAccepting();
    expect(closing.receive(c.echo, PEER, 5).conn).toBeUndefined();
    expect(closing.counters.refused).toBe(1);
    // A SYN now gets a RESET naming the client's CID.
    const routed = closing.receive(encodeSyn(clientCid(4), a.client.params), PEER, 6);
    expect(routed.replies.length).toBe(1);
    expect(readPacket((routed.replies[0] as { bytes: Uint8Array }).bytes)).toEqual({
      type: "reset",
      cid: clientCid(4),
    });
    expect(closing.counters.resets).toBe(1);
  });
});

describe("DATA routing", () => {
  test("DATA for a known CID goes to its connection and follows a NAT rebinding", () => {
    const core = listener();
    const { echo } = echoFrom(core, PEER, 1, 0);
    const from = { ...PEER };
    const conn = core.receive(echo, from, 10).conn as Connection;
    const moved = { address: "10.0.0.1", port: 7777 };
    const routed = core.receive(dataTo(conn.localCid, 1), moved, 20);
    expect(routed.conn).toBe(conn);
    expect(routed.replies).toEqual([]);
    expect(core.peerOf(conn)).toEqual(moved);
  });

  test("DATA for an unknown CID, or one whose first 48 bits collide, gets a small RESET", () => {
    const core = listener();
    const { echo } = echoFrom(core, PEER, 1, 0);
    const conn = core.receive(echo, PEER, 10).conn as Connection;
    const near = conn.localCid.slice();
    near[7] = 0xee; // same 48-bit key, other CID
    for (const cid of [near, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8])]) {
      const d = dataTo(cid, 5);
      const routed = core.receive(d, PEER, 20);
      expect(routed.conn).toBeUndefined();
      expect(routed.replies.length).toBe(1);
      const reply = (routed.replies[0] as { bytes: Uint8Array }).bytes;
      expect(reply.byteLength).toBeLessThanOrEqual(d.byteLength);
      expect(readPacket(reply)).toEqual({ type: "reset", cid });
    }
    // After remove(), the connection's own CID is unknown too.
    core.remove(conn, 25);
    expect(core.size).toBe(0);
    expect(core.receive(dataTo(conn.localCid, 6), PEER, 30).replies.length).toBe(1);
    expect(core.counters.resets).toBe(3);
  });

  test("RESETs are limited to 100 per second", () => {
    const core = listener();
    const burst = (n: number, now: number) => {
      let replies = 0;
      for (let i = 0; i < n; i++)
        replies += core.receive(dataTo(Uint8Array.from([9, 9, 9, 9, 9, 9, i >> 8, i & 255]), i), PEER, now).replies
          .length;
      return replies;
    };
    expect(burst(150, 5000)).toBe(100);
    expect(core.counters.resets).toBe(100);
    expect(burst(20, 5000)).toBe(0);
    expect(burst(20, 5100)).toBe(10); // 100 ms refill 10
    expect(burst(200, 60_000)).toBe(100); // the budget never exceeds one second's worth
    expect(core.counters.resets).toBe(210);
  });
});

describe("junk and other versions", () => {
  test("a SYN-sized datagram of another version gets a small VERSION reply echoing its client CID", () => {
    const core = listener();
    const other = encodeSyn(clientCid(1), DEFAULT_CONFIG_PARAMS());
    other[1] = (1 << 4) | PACKET.syn; // version 1: ACKs without the receiver's clock
    const routed = core.receive(other, PEER, 0);
    expect(routed.conn).toBeUndefined();
    expect(routed.replies.length).toBe(1);
    const reply = routed.replies[0] as { to: Peer; bytes: Uint8Array };
    expect(reply.to).toEqual(PEER);
    expect(reply.bytes.byteLength).toBeLessThanOrEqual(16);
    expect(readPacket(reply.bytes)).toEqual({ type: "version", clientCid: clientCid(1), versions: [WIRE_VERSION] });
    expect(core.counters.malformed).toBe(1);
    // Shorter than a SYN, or version 0: silence.
    expect(core.receive(other.subarray(0, MIN_DATAGRAM - 1), PEER, 0).replies).toEqual([]);
    const zero = other.slice();
    zero[1] = PACKET.syn;
    expect(core.receive(zero, PEER, 0).replies).toEqual([]);
    expect(core.counters.malformed).toBe(3);
    // A VERSION packet sent to the listener is ignored.
    expect(core.receive(reply.bytes, PEER, 0)).toEqual({ replies: [] });
    expect(core.counters.malformed).toBe(3);
    expect(core.size).toBe(0);
  });

  test("random datagrams from unknown peers never create a connection, and replies never amplify", () => {
    const valid = fc.integer({ min: 1, max: 5 }).map((t) => [MAGIC, (WIRE_VERSION << 4) | t]);
    const datagram = fc.oneof(
      fc.uint8Array({ maxLength: 100 }),
      fc
        .tuple(
          fc.oneof(
            valid,
            fc.nat(255).map((vt) => [MAGIC, vt]),
          ),
          fc.uint8Array({ maxLength: 100 }),
        )
        .map(([h, rest]) => Uint8Array.from([...h, ...rest])),
      fc
        .tuple(
          fc.oneof(
            valid,
            fc.nat(255).map((vt) => [MAGIC, vt]),
          ),
          fc.nat(255),
        )
        .map(([h, fill]) => {
          const d = new Uint8Array(MIN_DATAGRAM).fill(fill);
          d.set(h);
          return d;
        }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(datagram, fc.nat(65535)), { minLength: 1, maxLength: 30 }), (dgs) => {
        const core = listener();
        dgs.forEach(([bytes, port], i) => {
          const routed = core.receive(bytes, { address: "203.0.113.5", port }, i);
          expect(routed.conn).toBeUndefined();
          expect(routed.created).toBeUndefined();
          for (const r of routed.replies) {
            expect(r.to.port).toBe(port);
            expect(r.bytes.byteLength).toBeLessThanOrEqual(bytes.byteLength);
            expect(["syn-ack", "reset", "version"]).toContain(readPacket(r.bytes).type);
          }
        });
        expect(core.size).toBe(0);
        expect(core.counters.refused).toBe(0);
        expect(core.counters.malformed + core.counters.badCookies + core.counters.resets).toBeLessThanOrEqual(
          dgs.length,
        );
      }),
      { numRuns: 300 },
    );
  });

  test("ECHOs with forged cookies are counted and dropped", () => {
    const core = listener();
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: CID_BYTES, maxLength: CID_BYTES }),
        fc.uint8Array({ minLength: COOKIE_BYTES, maxLength: COOKIE_BYTES }),
        (cid, cookie) => {
          const w = startEcho(new Uint8Array(MIN_DATAGRAM), cid, clientCid(1), 0, cookie, DEFAULT_CONFIG_PARAMS());
          w.u8(FRAME.ping);
          w.at = MIN_DATAGRAM;
          const before = core.counters.badCookies;
          expect(core.receive(w.done(), PEER, 1000)).toEqual({ replies: [] });
          expect(core.counters.badCookies).toBe(before + 1);
        },
      ),
      { numRuns: 100 },
    );
    expect(core.size).toBe(0);
  });
});

// Regression: the listener once kept the caller's `from` object and rewrote it on a NAT rebinding.
test("receive() does not modify the Peer objects it is given", () => {
  const core = listener();
  const { echo } = echoFrom(core, PEER, 1, 0);
  const from = { ...PEER };
  const conn = core.receive(echo, from, 10).conn as Connection;
  core.receive(dataTo(conn.localCid, 1), { address: "10.0.0.1", port: 7777 }, 20);
  expect(from).toEqual(PEER);
});

// Regression (see cookie.test.ts): a cookie MAC input without field boundaries once let a client at
// port 5000 turn its cookie into one that opened a connection for the spoofed port 50001.
test("an ECHO forged from another port with a re-aimed cookie creates no connection", () => {
  const core = listener();
  const client = Uint8Array.from([0x31, 2, 3, 4, 5, 6, 7, 8]);
  const params = DEFAULT_CONFIG_PARAMS();
  const routed = core.receive(encodeSyn(client, params), PEER, 9500);
  const synAck = readPacket((routed.replies[0] as { bytes: Uint8Array }).bytes);
  if (synAck.type !== "syn-ack") throw new Error("no SYN-ACK");
  const cookie = synAck.cookie.slice();
  writeU48(new DataView(cookie.buffer), 0, 500);
  const forgedClient = Uint8Array.from([...client.subarray(1), synAck.serverCid[0] as number]);
  const forgedServer = Uint8Array.from([...synAck.serverCid.subarray(1), "9".charCodeAt(0)]);
  const w = startEcho(new Uint8Array(MIN_DATAGRAM), forgedServer, forgedClient, 0, cookie, params).u8(FRAME.ping);
  w.at = MIN_DATAGRAM;
  const forged = core.receive(w.done(), { address: PEER.address, port: 50001 }, 9501);
  expect(forged.conn).toBeUndefined();
});

function DEFAULT_CONFIG_PARAMS() {
  return {
    maxDatagram: 65507,
    initialMaxData: DEFAULT_CONFIG.window.initial,
    idleTimeoutMs: DEFAULT_CONFIG.idleTimeoutMs,
  };
}
