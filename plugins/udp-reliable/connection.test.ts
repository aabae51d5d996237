/**
 * Connection behaviours that the simulator reaches only in long runs, pinned down directly.
 */
import { describe, expect, test } from "bun:test";
import { Connection, DEFAULT_CONFIG } from "./connection.ts";
import { FRAME } from "./wire/frames.ts";
import { CID_BYTES, startData } from "./wire/packet.ts";

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
