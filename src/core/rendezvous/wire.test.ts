import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { XferError } from "../errors.ts";
import {
  encodeRelayMessage,
  MAX_RELAY_MESSAGE_BYTES,
  parseJoin,
  parseReply,
  RELAY_PROTOCOL_VERSION,
  RelayFrameDecoder,
} from "./wire.ts";

const join = { type: "join", relay: RELAY_PROTOCOL_VERSION, room: "417", side: "send", bytes: 12 } as const;

describe("relay wire", () => {
  test("a message split anywhere, with session bytes after it, decodes to itself and leaves those bytes", () => {
    const frame = encodeRelayMessage(join);
    const after = new Uint8Array([9, 8, 7]);
    const all = new Uint8Array([...frame, ...after]);
    for (let cut = 0; cut <= all.length; cut++) {
      const d = new RelayFrameDecoder();
      d.push(all.subarray(0, cut));
      const early = d.next();
      d.push(all.subarray(cut));
      const message = early ?? d.next();
      expect(parseJoin(message)).toEqual(join);
      expect([...d.takeRest()]).toEqual([...after]);
    }
  });

  test("the length bound: a zero or oversized length is refused before its body is read", () => {
    for (const length of [0, MAX_RELAY_MESSAGE_BYTES + 1, 65535]) {
      const d = new RelayFrameDecoder();
      d.push(new Uint8Array([length >> 8, length & 0xff]));
      expect(() => d.next()).toThrow(XferError);
    }
  });

  test("replies the relay may send parse; anything else is a protocol error", () => {
    for (const reply of [
      { type: "waiting", you: "1.2.3.4:5", expiresInSeconds: 600 },
      { type: "paired", you: "1.2.3.4:5", peer: "[2001:db8::1]:9" },
      { type: "refused", code: "quota", reason: "too big" },
    ])
      expect(parseReply(reply)).toEqual(reply as never);
    expect(() => parseReply({ type: "refused", code: "nope", reason: "" })).toThrow(XferError);
    expect(() => parseReply({ type: "paired", you: "x", peer: "y", extra: 1 })).toThrow(XferError);
    expect(() => parseJoin({ ...join, room: "apple" })).toThrow(/room/);
  });

  test("property: any bytes give messages, null, or an XferError; never another exception", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), (chunks) => {
        const d = new RelayFrameDecoder();
        try {
          for (const c of chunks) {
            d.push(c);
            for (let m = d.next(); m !== null; m = d.next()) {
              try {
                parseJoin(m);
              } catch (err) {
                if (!(err instanceof XferError)) throw err;
              }
            }
          }
        } catch (err) {
          if (!(err instanceof XferError)) throw err;
        }
      }),
      { seed: 19, numRuns: 2000 },
    );
  });

  test("property: every valid join round-trips", () => {
    fc.assert(
      fc.property(
        fc.record({
          room: fc.integer({ min: 0, max: 999_999_999 }).map(String),
          side: fc.constantFrom("send" as const, "recv" as const),
          password: fc.option(fc.string({ maxLength: 256 }), { nil: undefined }),
          bytes: fc.option(fc.nat(), { nil: undefined }),
        }),
        (fields) => {
          const message = { type: "join" as const, relay: RELAY_PROTOCOL_VERSION, ...fields };
          for (const k of ["password", "bytes"] as const) if (message[k] === undefined) delete message[k];
          const d = new RelayFrameDecoder();
          d.push(encodeRelayMessage(message));
          expect(parseJoin(d.next())).toEqual(message);
        },
      ),
      { seed: 19, numRuns: 300 },
    );
  });
});
