/**
 * Connection behaviours that the simulator reaches only in long runs, pinned down directly.
 */
import { describe, expect, test } from "bun:test";
import { Connection, DEFAULT_CONFIG } from "./connection.ts";
import { FRAME } from "./wire/frames.ts";
import {
  CID_BYTES,
  COOKIE_BYTES,
  encodeSynAck,
  encodeVersionNegotiation,
  startData,
  WIRE_VERSION,
} from "./wire/packet.ts";

const serverCid = new Uint8Array(CID_BYTES).fill(1);
const clientCid = new Uint8Array(CID_BYTES).fill(2);

describe("CLOSING", () => {
  test("waits out its time without leaving an ACK timer due (a caller would spin on it)", () => {
    const server = new Connection("server", serverCid, clientCid, DEFAULT_CONFIG, 0);
    // An ack-eliciting packet makes an ACK due within the max ACK delay ...
    server.receiveDatagram(startData(new Uint8Array(64), serverCid, 0).u8(FRAME.ping).done(), 1);
    expect(server.deadline()).toBeLessThanOrEqual(1 + 5);
    // ... then the connection aborts before sending it.
    server.abort("test", 2);
    expect(server.state).toBe("closing");
    expect(server.poll(2).length).toBe(1); // the CLOSE
    expect(server.deadline()).toBeGreaterThan(2);
    expect(server.poll(3)).toEqual([]);
    server.tick(server.deadline());
    expect(server.state).toBe("closed");
  });
});

describe("handshake repeats", () => {
  const params = { maxDatagram: 1472, initialMaxData: 1 << 20, idleTimeoutMs: 30_000 };
  /** When the client sends its SYN (then ECHO), from 0; the SYN-ACK arrives at `answerAt`, if given. */
  const repeats = (rttHintMs: number | undefined, answerAt?: number) => {
    const client = new Connection("client", clientCid, new Uint8Array(CID_BYTES), { ...DEFAULT_CONFIG, rttHintMs }, 0);
    const sent: number[] = [];
    let now = 0;
    while (sent.length < 4) {
      if (client.poll(now).length > 0) sent.push(now);
      now = client.deadline();
      if (answerAt !== undefined && answerAt < now && client.state === "syn-sent") {
        now = answerAt;
        client.receiveDatagram(encodeSynAck(clientCid, serverCid, new Uint8Array(COOKIE_BYTES), params), now);
      }
    }
    return { sent, state: client.state };
  };

  test("with no known round trip, the first repeat waits 250 ms, then backs off", () => {
    expect(repeats(undefined).sent).toEqual([0, 250, 750, 1750]);
  });

  test("with a hinted round trip, the repeats are timed from it (twice the hint, backing off)", () => {
    expect(repeats(50).sent).toEqual([0, 100, 300, 700]);
    // A loopback hint does not make the client spin; a long one (lost probes) waits no longer than none.
    expect(repeats(0.3).sent).toEqual([0, 20, 60, 140]);
    expect(repeats(260).sent).toEqual([0, 250, 750, 1750]);
  });

  test("the ECHO's repeats follow the SYN-ACK's own sample once there is one", () => {
    // The first SYN answered at 40 ms (so the sample counts): the ECHO at once, again 2 · 40 ms later.
    expect(repeats(50, 40)).toEqual({ sent: [0, 40, 120, 280], state: "echo-sent" });
    // Without a hint the ECHO keeps the 250 ms floor.
    expect(repeats(undefined, 40)).toEqual({ sent: [0, 40, 290, 790], state: "echo-sent" });
  });

  test("a SYN-ACK to a repeated SYN gives no sample (Karn); a hint seeds the round trip instead", () => {
    const rttAfter = (rttHintMs: number | undefined) => {
      const client = new Connection(
        "client",
        clientCid,
        new Uint8Array(CID_BYTES),
        { ...DEFAULT_CONFIG, rttHintMs },
        0,
      );
      client.poll(0);
      const repeat = client.deadline();
      client.poll(repeat);
      client.receiveDatagram(encodeSynAck(clientCid, serverCid, new Uint8Array(COOKIE_BYTES), params), repeat + 30);
      return client.stats().rttMs;
    };
    // No sample: the initial 333 ms, from which the first PTO is about 1 s.
    expect(rttAfter(undefined)).toBe(333);
    expect(rttAfter(60)).toBe(60);
  });
});

describe("a peer of the previous wire version", () => {
  test("a dialer answered by a version-1 listener fails at once, naming both versions", () => {
    const client = new Connection("client", clientCid, new Uint8Array(CID_BYTES), DEFAULT_CONFIG, 0);
    const syn = client.poll(0)[0] as Uint8Array;
    // What a version-1 listener answers: VERSION echoing our CID, listing only 1.
    const reply = encodeVersionNegotiation(syn);
    reply[reply.byteLength - 1] = 1;
    client.receiveDatagram(reply, 150);
    expect(client.state).toBe("closed");
    expect(client.error?.kind).toBe("refused");
    expect(client.error?.message).toContain(`wire version 1; this xfer speaks ${WIRE_VERSION}`);
  });
});
