import { describe, expect, test } from "bun:test";
import { FixedRateController } from "./congestion/fixed-rate.ts";
import { ReceiveWindow } from "./flow-control.ts";
import { LossRecovery } from "./loss-recovery.ts";
import { type DataPacketPlan, PacketPacker } from "./packet-packer.ts";
import { ReceivedPackets } from "./received-packets.ts";
import { SendStream } from "./send-stream.ts";
import { type Frame, readFrames } from "./wire/frames.ts";
import { CID_BYTES, type DataPacket, readPacket } from "./wire/packet.ts";

const cid = new Uint8Array(CID_BYTES).fill(9);

function setup() {
  const received = new ReceivedPackets();
  const window = new ReceiveWindow({ initial: 1 << 20, max: 1 << 24 });
  const sendStream = new SendStream();
  const cc = new FixedRateController({ mss: 1200, maxRate: 1e6, initialWindowPackets: 10, random: () => 0.5 });
  const recovery = new LossRecovery(cc, { onPacketAcked() {}, onPacketLost() {} }, 0);
  const packer = new PacketPacker({ received, window, sendStream, recovery }, cid);
  return { received, window, sendStream, recovery, packer };
}

const plan = (over: Partial<DataPacketPlan> = {}): DataPacketPlan => ({
  ack: false,
  data: false,
  eliciting: false,
  maxData: false,
  flowLimit: 1 << 20,
  appLimited: false,
  ...over,
});

function frames(bytes: Uint8Array): { pn: number; frames: Frame[] } {
  const p = readPacket(bytes) as DataPacket;
  expect(p.type).toBe("data");
  return { pn: p.pn, frames: readFrames(p.payload) };
}

describe("PacketPacker", () => {
  test("packet numbers are consecutive across every kind of packet, and each is recorded and counted", () => {
    const { packer, recovery, sendStream } = setup();
    sendStream.write(new Uint8Array(100).fill(7));
    const a = packer.data(0, 1200, plan({ data: true }));
    const b = packer.mtuProbe(1, 1400);
    const c = packer.close(2, 1200, { code: 0, reason: "bye" });
    expect([a.record.pn, b.record.pn, c.record.pn]).toEqual([0, 1, 2]);
    expect(recovery.sent.largestSent).toBe(2);
    expect(packer.packetsSent).toBe(3);
    expect(packer.bytesSent).toBe(a.bytes.byteLength + b.bytes.byteLength + c.bytes.byteLength);
    expect(b.bytes.byteLength).toBe(1400);
  });

  test("stream data fills the packet from the send buffer; the record says which ranges it carries", () => {
    const { packer, sendStream, recovery } = setup();
    const data = new Uint8Array(3000).map((_, i) => i & 0xff);
    sendStream.write(data);
    sendStream.finish();
    const p = packer.data(5, 1200, plan({ data: true }));
    expect(p.bytes.byteLength).toBeLessThanOrEqual(1200);
    expect(p.record.ackEliciting && p.record.inFlight).toBe(true);
    const f = frames(p.bytes).frames;
    const stream = f.filter((x) => x.type === "stream");
    expect(stream.length).toBe(1);
    const s = stream[0] as Extract<Frame, { type: "stream" }>;
    expect(s.offset).toBe(0);
    expect(Array.from(s.data)).toEqual(Array.from(data.subarray(0, s.data.byteLength)));
    expect(p.record.stream).toEqual([{ offset: 0, length: s.data.byteLength, fin: false }]);
    expect(recovery.sent.bytesInFlight).toBe(p.bytes.byteLength);
  });

  test("an ACK-only packet is not in flight and clears the pending ACK", () => {
    const { packer, received } = setup();
    received.record(0, 0);
    received.record(1, 0);
    expect(received.ackDue(0)).toBe(true);
    const p = packer.data(1, 1200, plan({ ack: true }));
    const f = frames(p.bytes).frames.map((x) => x.type);
    expect(f).toEqual(["ack", "max-data"]);
    expect(p.record.ackEliciting).toBe(false);
    expect(p.record.inFlight).toBe(false);
    expect(received.ackDue(1)).toBe(false);
  });

  test("a MAX_DATA grant or a probe without data is made ack-eliciting with a PING", () => {
    const { packer } = setup();
    const grant = packer.data(0, 1200, plan({ maxData: true }));
    expect(frames(grant.bytes).frames.map((x) => x.type)).toEqual(["max-data", "ping"]);
    expect(grant.record.maxData && grant.record.ackEliciting).toBe(true);
    const probe = packer.data(0, 1200, plan({ eliciting: true }));
    expect(frames(probe.bytes).frames.map((x) => x.type)).toEqual(["ping"]);
  });

  test("an MTU probe is padded to its size and kept out of bytes in flight", () => {
    const { packer, recovery } = setup();
    const p = packer.mtuProbe(0, 1472);
    expect(p.bytes.byteLength).toBe(1472);
    expect(p.record.ackEliciting).toBe(true);
    expect(p.record.inFlight).toBe(false);
    expect(recovery.sent.bytesInFlight).toBe(0);
    expect(frames(p.bytes).frames[0]?.type).toBe("ping");
  });

  test("an MTU probe in recycled datagram memory is still padding after its PING", () => {
    const { packer } = setup();
    packer.arena.recycle();
    packer.arena.allocate(1472).fill(0xff); // what an earlier datagram left there
    packer.arena.recycle();
    const p = packer.mtuProbe(0, 1472);
    expect(frames(p.bytes).frames.map((x) => x.type)).toEqual(["ping"]);
  });
});
