/** The relay's UDP reflection: its decisions (pure, injected clock), then the socket over loopback. */
import { describe, expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import fc from "fast-check";
import {
  decodeReflectReply,
  decodeReflectRequest,
  encodeReflectReply,
  encodeReflectRequest,
  REFLECT_REQUEST_BYTES,
} from "../core/rendezvous/reflect-wire.ts";
import { encodeRelayMessage, RELAY_PROTOCOL_VERSION, RelayFrameDecoder } from "../core/rendezvous/wire.ts";
import { REFLECTIONS_PER_ADDRESS_SECOND, REFLECTIONS_PER_TOKEN, Reflector } from "./reflector.ts";
import { DEFAULT_LIMITS } from "./rooms.ts";
import { startRelay } from "./server.ts";

const hex = (t: string) => Uint8Array.from(Buffer.from(t, "hex"));
const member = { address: "203.0.113.5", port: 40122 };

describe("reflection wire", () => {
  test("request and reply round-trip (IPv4 and IPv6); every reply is shorter than the request", () => {
    const token = hex("00112233445566778899aabbccddeeff");
    expect(decodeReflectRequest(encodeReflectRequest(token))).toEqual(token);
    const v4 = encodeReflectReply(token, "203.0.113.5", 40122);
    expect(decodeReflectReply(v4, token)).toBe("203.0.113.5:40122");
    const v6 = encodeReflectReply(token, "2001:db8::1", 9);
    expect(decodeReflectReply(v6, token)).toBe("[2001:db8:0:0:0:0:0:1]:9");
    expect(Math.max(v4.byteLength, v6.byteLength)).toBeLessThan(REFLECT_REQUEST_BYTES);
    // Another token's reply is not ours.
    expect(decodeReflectReply(v4, hex("ff112233445566778899aabbccddeeff"))).toBeNull();
  });

  test("property: any bytes are a request or nothing, a reply or nothing; never a throw", () => {
    const token = hex("00112233445566778899aabbccddeeff");
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const t = decodeReflectRequest(bytes);
        expect(t === null || t.byteLength === 16).toBe(true);
        const r = decodeReflectReply(bytes, token);
        expect(r === null || /^(\d+\.){3}\d+:\d+$|^\[[0-9a-f:]+\]:\d+$/.test(r)).toBe(true);
      }),
      { seed: 19, numRuns: 2000 },
    );
  });
});

describe("Reflector", () => {
  test("answers a member's token from its own host only, a bounded number of times", () => {
    const r = new Reflector(() => 0);
    const token = r.issue(member.address);
    const request = encodeReflectRequest(hex(token));
    expect(decodeReflectReply(r.answer(request, member)!, hex(token))).toBe("203.0.113.5:40122");
    // From elsewhere (a spoofed source, aimed at a victim): silence.
    expect(r.answer(request, { address: "198.51.100.9", port: 40122 })).toBeNull();
    // A made-up token, a malformed request: silence.
    expect(r.answer(encodeReflectRequest(new Uint8Array(16)), member)).toBeNull();
    expect(r.answer(request.subarray(0, 40), member)).toBeNull();
    let answered = 1;
    let clock = 0;
    const later = new Reflector(() => clock);
    const t2 = later.issue(member.address);
    for (let i = 0; i < 3 * REFLECTIONS_PER_TOKEN; i++) {
      clock += 1000; // one a second: the address rate never binds here
      if (later.answer(encodeReflectRequest(hex(t2)), member)) answered++;
    }
    expect(answered).toBe(1 + REFLECTIONS_PER_TOKEN);
    r.revoke(token);
    expect(r.answer(request, member)).toBeNull();
  });

  test("one address is answered at most so many times a second, whatever its tokens", () => {
    let clock = 5000;
    const r = new Reflector(() => clock);
    const tokens = Array.from({ length: 4 }, () => r.issue(member.address));
    let answered = 0;
    for (let i = 0; i < 40; i++) if (r.answer(encodeReflectRequest(hex(tokens[i % 4]!)), member)) answered++;
    expect(answered).toBe(REFLECTIONS_PER_ADDRESS_SECOND);
    clock += 1000;
    expect(r.answer(encodeReflectRequest(hex(tokens[0]!)), member)).not.toBeNull();
  });
});

describe("relay UDP reflection on its own port", () => {
  /** Joins `room` as `side`; resolves with the socket and the relay's pairing answer. */
  const joinAndPair = async (port: number, room: string, side: "send" | "recv", udp: boolean) => {
    const { connect } = await import("node:net");
    const tcp = connect({ port, host: "127.0.0.1" });
    tcp.on("error", () => {});
    tcp.write(encodeRelayMessage({ type: "join", relay: RELAY_PROTOCOL_VERSION, room, side, ...(udp ? { udp } : {}) }));
    const decoder = new RelayFrameDecoder();
    const paired = new Promise<{ type: string; token?: string }>((resolve) =>
      tcp.on("data", (c: Buffer) => {
        decoder.push(c);
        for (let m = decoder.next(); m; m = decoder.next())
          if ((m as { type: string }).type === "paired") resolve(m as { type: string; token?: string });
      }),
    );
    return { tcp, paired };
  };

  test("a token only when both sides asked: a peer from before reflection is never offered UDP", async () => {
    const relay = await startRelay({ host: "127.0.0.1", port: 0, limits: DEFAULT_LIMITS });
    const a = await joinAndPair(relay.address.port, "20", "recv", true);
    const b = await joinAndPair(relay.address.port, "20", "send", false);
    expect((await a.paired).token).toBeUndefined();
    expect((await b.paired).token).toBeUndefined();
    a.tcp.destroy();
    b.tcp.destroy();
    await relay.close();
  });

  test("a member that asked for a token is told its UDP address; without a token, silence", async () => {
    const relay = await startRelay({ host: "127.0.0.1", port: 0, limits: DEFAULT_LIMITS });
    const { tcp, paired } = await joinAndPair(relay.address.port, "19", "recv", true);
    const other = await joinAndPair(relay.address.port, "19", "send", true);
    const waiting = await paired;
    expect(waiting.token).toMatch(/^[0-9a-f]{32}$/);
    expect((await other.paired).token).not.toBe(waiting.token);
    const udp = createSocket("udp4");
    await new Promise<void>((r) => udp.bind(0, "127.0.0.1", () => r()));
    const replies: Buffer[] = [];
    udp.on("message", (m) => replies.push(m));
    const ask = (token: Uint8Array) => udp.send(encodeReflectRequest(token), relay.address.port, "127.0.0.1");
    ask(new Uint8Array(16));
    await Bun.sleep(150);
    expect(replies).toEqual([]);
    ask(hex(waiting.token!));
    for (let i = 0; i < 100 && replies.length === 0; i++) await Bun.sleep(10);
    expect(decodeReflectReply(replies[0]!, hex(waiting.token!))).toBe(`127.0.0.1:${udp.address().port}`);
    // The member leaves: its token goes with it.
    tcp.destroy();
    other.tcp.destroy();
    await Bun.sleep(100);
    ask(hex(waiting.token!));
    await Bun.sleep(150);
    expect(replies.length).toBe(1);
    udp.close();
    await relay.close();
  });
});
