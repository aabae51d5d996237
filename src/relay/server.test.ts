/** The relay's socket side, in process over loopback, on both socket implementations. */
import { describe, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { PAD_FRAME, PaddedReader, PaddedWriter } from "../core/rendezvous/padded.ts";
import { encodeRelayMessage, RELAY_PROTOCOL_VERSION, RelayFrameDecoder } from "../core/rendezvous/wire.ts";
import { DEFAULT_LIMITS } from "./rooms.ts";
import { type RelayEvent, startRelay } from "./server.ts";

const join = (room: string, side: "send" | "recv") =>
  encodeRelayMessage({ type: "join", relay: RELAY_PROTOCOL_VERSION, room, side });

/** A raw client: what it sent first, then every relay message it got, then whether the relay closed. */
function client(port: number, first: Uint8Array) {
  const s = connect({ port, host: "127.0.0.1", allowHalfOpen: true }, () => s.write(first));
  const decoder = new RelayFrameDecoder();
  const messages: unknown[] = [];
  let raw = Buffer.alloc(0);
  let paired = false;
  const ended = new Promise<void>((r) => s.on("end", () => r()));
  s.on("data", (chunk: Buffer) => {
    if (paired) {
      raw = Buffer.concat([raw, chunk]);
      return;
    }
    decoder.push(chunk);
    for (let m = decoder.next(); m !== null; m = decoder.next()) {
      messages.push(m);
      if ((m as { type: string }).type === "paired") {
        paired = true;
        raw = Buffer.from(decoder.takeRest());
        break;
      }
    }
  });
  s.on("error", () => {});
  return { s, messages, ended, raw: () => raw };
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await Bun.sleep(10);
  expect(cond()).toBe(true);
};

for (const sockets of ["bun", "node"] as const) {
  describe(`relay server (${sockets} sockets)`, () => {
    test("pairs two peers, pipes bytes both ways with half-close passed on, reports what it piped", async () => {
      const events: RelayEvent[] = [];
      const relay = await startRelay({
        host: "127.0.0.1",
        port: 0,
        limits: DEFAULT_LIMITS,
        sockets,
        onEvent: (e) => events.push(e),
      });
      try {
        const a = client(relay.address.port, join("9", "recv"));
        await until(() => a.messages.length === 1);
        expect(a.messages[0]).toMatchObject({ type: "waiting" });
        const b = client(relay.address.port, join("9", "send"));
        await until(() => b.messages.length === 1 && a.messages.length === 2);
        expect(b.messages[0]).toMatchObject({ type: "paired" });
        b.s.write("from the sender");
        b.s.end(); // half-close: the receiver still answers
        await a.ended;
        expect(a.raw().toString()).toBe("from the sender");
        a.s.end("and back");
        await b.ended;
        expect(b.raw().toString()).toBe("and back");
        await until(() => events.some((e) => e.event === "relay-room" && e.outcome === "closed"));
        expect(events.find((e) => e.event === "relay-room" && e.outcome === "closed")).toMatchObject({ bytes: 23 });
      } finally {
        await relay.close();
      }
    });

    test("a side that joined padded sends and gets its first bytes framed, whatever the other side asked", async () => {
      const relay = await startRelay({ host: "127.0.0.1", port: 0, limits: DEFAULT_LIMITS, sockets });
      try {
        const padded = encodeRelayMessage({
          type: "join",
          relay: RELAY_PROTOCOL_VERSION,
          room: "8",
          side: "recv",
          padded: true,
        });
        // The padding frame behind the join is taken before the pairing (here in the join's own segment).
        const a = client(relay.address.port, Buffer.concat([padded, PAD_FRAME]));
        await until(() => a.messages.length === 1);
        expect(a.messages[0]).toMatchObject({ type: "waiting" });
        const b = client(relay.address.port, join("8", "send"));
        await until(() => b.messages.length === 1 && a.messages.length === 2);
        expect(b.messages[0]).toMatchObject({ type: "paired" });
        // The pairing has a padding frame behind it.
        await until(() => a.raw().byteLength === 2);
        b.s.write("hello");
        // Framed for the padded side, with the padding frame behind it.
        await until(() => a.raw().byteLength === 11);
        expect([...a.raw()]).toEqual([0, 0, 0, 5, ...Buffer.from("hello"), 0, 0]);
        expect(new TextDecoder().decode(new PaddedReader().decode(a.raw()))).toBe("hello");
        // What the padded side frames arrives unframed at the other.
        const w = new PaddedWriter();
        for (const part of w.encode(Buffer.from("and back"))) a.s.write(part);
        await until(() => b.raw().toString() === "and back");
        // A frame longer than the framed start cuts the room.
        a.s.write(Uint8Array.of(0xff, 0xff));
        await b.ended;
      } finally {
        await relay.close();
      }
    });

    test("refusals with their reason: not a join, too large, data before pairing; a half-closed waiter leaves", async () => {
      const events: RelayEvent[] = [];
      const relay = await startRelay({
        host: "127.0.0.1",
        port: 0,
        limits: { ...DEFAULT_LIMITS, maxPerAddress: 1 },
        sockets,
        onEvent: (e) => events.push(e),
      });
      try {
        const port = relay.address.port;
        const garbage = client(
          port,
          encodeRelayMessage({ type: "join", relay: RELAY_PROTOCOL_VERSION, room: "x", side: "send" }),
        );
        await garbage.ended;
        expect(garbage.messages).toEqual([expect.objectContaining({ type: "refused", code: "bad-request" })]);
        const huge = client(port, new Uint8Array([0xff, 0xff, ...new Uint8Array(2000)]));
        await huge.ended;
        expect(huge.messages).toEqual([expect.objectContaining({ type: "refused", code: "bad-request" })]);
        const old = client(port, encodeRelayMessage({ type: "join", relay: 99, room: "1", side: "send" } as never));
        await old.ended;
        expect(old.messages).toEqual([expect.objectContaining({ type: "refused", code: "version" })]);
        const eager = client(port, join("3", "send"));
        await until(() => eager.messages.length === 1);
        eager.s.write("too soon");
        await eager.ended;
        expect(eager.messages[1]).toMatchObject({ type: "refused", code: "bad-request" });
        // With one connection per address, a waiter that half-closes must give its place back.
        const leaving = client(port, join("4", "recv"));
        await until(() => leaving.messages.length === 1);
        leaving.s.end();
        await until(() => events.some((e) => e.event === "relay-room" && e.outcome === "left" && e.room === "4"));
        const next = client(port, join("5", "recv"));
        await until(() => next.messages.length === 1);
        expect(next.messages[0]).toMatchObject({ type: "waiting" });
        for (const c of [garbage, huge, old, eager, leaving, next]) (c.s as Socket).destroy();
      } finally {
        await relay.close();
      }
    });
  });
}
