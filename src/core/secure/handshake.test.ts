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

/** Computed by this implementation, whose CPace steps match the draft's vectors (cpace.test.ts). */
const KNOWN = {
  ya: "1446a3dd412a15d8d6206ae1b88e2c01f5f69b1a631b42d9f31b447328109519",
  yb: "b266df820f5b35ebb529b42e17cb7b8b2a1263f204eb91ed91e4e67f0decc714",
  confirmR: "3d0e4e112e93672c912b336146fe754f1ec6fe24b5ebf09b7d50d5f7dc5a716c",
  confirmS: "e826448631a0a7958fd00e29af1f4b12aaa2bc64987294a3dc62cbae21d4ef43",
  key: "d52d82bfced4901430cf81a11596aa8f05989f95ac1a586f62d91ca7d456b397",
};
