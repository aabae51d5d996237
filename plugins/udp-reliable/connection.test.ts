/**
 * Connection behaviours that the simulator reaches only in long runs, pinned down directly.
 */
import { describe, expect, test } from "bun:test";
import { Connection, DEFAULT_CONFIG } from "./connection.ts";
import { FRAME } from "./wire/frames.ts";
import { CID_BYTES, encodeVersionNegotiation, startData, WIRE_VERSION } from "./wire/packet.ts";

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
