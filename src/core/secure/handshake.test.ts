import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { InitiatorHandshake, ResponderHandshake } from "./handshake.ts";

const ctx = { kind: "stream", transport: "tcp-stream" };
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
/** A deterministic random source (for known answers): bytes counting up from `seed`. */
const counting = (seed: number) => (n: number) => Uint8Array.from({ length: n }, (_, i) => (seed + i) & 255);

function run(senderCode: string, receiverCode: string, rctx = ctx) {
  const s = new InitiatorHandshake(senderCode, ctx);
  const r = new ResponderHandshake(receiverCode, rctx);
  const reply = r.onPake(s.first);
  const done = s.onReply(reply);
  return { sender: done.keys, receiver: r.keys(done.send) };
}

describe("handshake", () => {
  test("the same code gives both sides the same keys, one per direction", () => {
    const { sender, receiver } = run("7-apple-river-stone-tiger", "7-apple-river-stone-tiger");
    expect(hex(sender.send)).toBe(hex(receiver.receive));
    expect(hex(sender.receive)).toBe(hex(receiver.send));
    expect(hex(sender.send)).not.toBe(hex(sender.receive));
  });

  test("a wrong code is caught by the sender before it says anything else", () => {
    expect(() => run("7-apple-river-stone-tiger", "7-apple-river-stone-tigers")).toThrow(/wrong code/);
  });

  test("a sender that skips the check is caught by the receiver's confirmation", () => {
    const s = new InitiatorHandshake("wrong-code-entirely", ctx);
    const r = new ResponderHandshake("7-apple-river-stone-tiger", ctx);
    r.onPake(s.first);
    expect(() => r.keys({ type: "confirm", confirm: "00".repeat(32) })).toThrow(/wrong code/);
  });

  test("keys are bound to the transport and the session kind", () => {
    expect(() => run("7-a-b-c-d", "7-a-b-c-d", { kind: "stream", transport: "udp-reliable" })).toThrow(/wrong code/);
    expect(() => run("7-a-b-c-d", "7-a-b-c-d", { kind: "datagram", transport: "tcp-stream" })).toThrow(/wrong code/);
  });

  test("a man in the middle who guesses a code fails both sides unless the guess is right", () => {
    const real = "4-secret-words-go-here";
    const guess = "4-secret-words-go-there";
    const sender = new InitiatorHandshake(real, ctx);
    const mitmAsReceiver = new ResponderHandshake(guess, ctx);
    expect(() => sender.onReply(mitmAsReceiver.onPake(sender.first))).toThrow(/wrong code/);
    const mitmAsSender = new InitiatorHandshake(guess, ctx);
    const receiver = new ResponderHandshake(real, ctx);
    expect(() => mitmAsSender.onReply(receiver.onPake(mitmAsSender.first))).toThrow(/wrong code/);
  });

  test("a recorded first message replayed gets a reply under fresh keys, so its old confirm fails", () => {
    const code = "3-replay-me-if-you-can";
    const s = new InitiatorHandshake(code, ctx);
    const r1 = new ResponderHandshake(code, ctx);
    const done = s.onReply(r1.onPake(s.first));
    r1.keys(done.send);
    const r2 = new ResponderHandshake(code, ctx);
    r2.onPake(s.first);
    expect(() => r2.keys(done.send)).toThrow(/wrong code/);
  });

  test("a repeated pake (lost reply) gets the same reply; a changed one is refused", () => {
    const s = new InitiatorHandshake("1-a-b-c-d", ctx);
    const r = new ResponderHandshake("1-a-b-c-d", ctx);
    expect(r.onPake(s.first)).toEqual(r.onPake(s.first));
    const other = new InitiatorHandshake("1-a-b-c-d", ctx);
    expect(() => r.onPake(other.first)).toThrow(/changed/);
  });

  test("invalid key shares are refused as authentication failures", () => {
    const r = new ResponderHandshake("1-a-b-c-d", ctx);
    const bad = { ...new InitiatorHandshake("1-a-b-c-d", ctx).first, element: "00".repeat(32) };
    expect(() => r.onPake(bad)).toThrow();
  });

  test("known answer: fixed randomness gives fixed messages and keys (regression vector)", () => {
    const s = new InitiatorHandshake("7-apple-river-stone-tiger", ctx, counting(1));
    const r = new ResponderHandshake("7-apple-river-stone-tiger", ctx, counting(101));
    const reply = r.onPake(s.first);
    const done = s.onReply(reply);
    expect({
      ya: s.first.element,
      yb: reply.element,
      confirmR: reply.confirm,
      confirmS: done.send.confirm,
      key: hex(done.keys.send),
    }).toEqual(KNOWN);
  });

  test("fresh randomness: every handshake's shares and keys differ (property)", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(fc.string({ minLength: 6, maxLength: 40 }), (code) => {
        const { sender } = run(code, code);
        const k = hex(sender.send);
        expect(seen.has(k)).toBe(false);
        seen.add(k);
      }),
      { numRuns: 50 },
    );
  });
});

/**
 * Computed by this implementation, whose CPace steps match the draft's vectors (cpace.test.ts); the
 * session protocol's version is in the channel identifier, so these change with it (now v3).
 */
const KNOWN = {
  ya: "5695f50204618d2957986900b197d672ac0a44ee3a49a4008d87bcedb7308954",
  yb: "bcae4b05240974a74cd87bc6c7534a376e319320415cc8c51c5f38d8b021a90e",
  confirmR: "d189b40559b2340f84da659225271d98c4cff27668d11278cd77d5bf3f101f75",
  confirmS: "cab3c2ed369b0c4a491a458f3a8d76d8738fe8297e0c4d56735aa43075dad938",
  key: "0973465306844802e112395df65808db5b0cdee161fca4b786589a09e600ffa7",
};
