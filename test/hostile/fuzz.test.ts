/**
 * Every decoder a peer can reach, fed random and mutated input (fast-check, seeded: a failure
 * prints its seed and shrinks to the smallest input). The property is the same everywhere: a
 * decoder answers with a value or with its own documented error, never crashes, never allocates
 * more than the input can justify, and what it accepts satisfies the rules the core relies on.
 * XFER_FUZZ_RUNS raises the count (CI runs 100,000 per decoder).
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import fc from "fast-check";
import { decode as decodeDatagram, encodeControl, encodeData } from "../../src/core/datagram/codec.ts";
import { DgMessage, parseDgMessage } from "../../src/core/datagram/messages.ts";
import { XferError } from "../../src/core/errors.ts";
import { checkOfferedNames } from "../../src/core/names.ts";
import { encodeControlFrame, FrameDecoder, FrameError, MAX_DATA_PAYLOAD } from "../../src/core/protocol/frames.ts";
import { ControlMessage } from "../../src/core/protocol/messages.ts";
import { FOLDS_EVERYTHING } from "../../src/core/receive/name-folding.ts";
import { DatagramOpener, DatagramSealer } from "../../src/core/secure/datagram-seal.ts";
import { HandshakeMessage, ResponderHandshake } from "../../src/core/secure/handshake.ts";
import { RecordOpener, RecordSealer } from "../../src/core/secure/records.ts";

const RUNS = Number(process.env.XFER_FUZZ_RUNS ?? 100_000);
const SEED = 20261201;
const params = (numRuns = RUNS) => ({ numRuns, seed: SEED });
setDefaultTimeout(120_000);

/** Small JSON values: generating deep ones costs more than the decoders under test. */
const json = fc.jsonValue({ maxDepth: 2, depthSize: "small" });

/** Bytes a peer might send: random, or a valid encoding with a few bytes flipped, cut or extended. */
function mutated(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc
      .tuple(
        valid,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
        fc.nat(),
        fc.boolean(),
      )
      .map(([bytes, flips, cut, shorten]) => {
        const out = Uint8Array.from(bytes);
        for (const [at, x] of flips) if (out.byteLength) out[at % out.byteLength]! ^= x;
        return shorten && out.byteLength ? out.subarray(0, cut % out.byteLength) : out;
      }),
  );
}

/** A JSON value a peer might send in place of a message: a mutated real one, or junk of any shape. */
const jsonish: fc.Arbitrary<unknown> = fc.oneof(
  json,
  fc
    .record(
      {
        type: fc.constantFrom(
          "hello",
          "offer-head",
          "offer-page",
          "offer-end",
          "accept",
          "file",
          "file-end",
          "summary",
          "dg-offer",
          "dg-end",
          "dg-report",
          "pake",
        ),
      },
      { requiredKeys: [] },
    )
    .chain((base) =>
      fc
        .dictionary(
          fc.constantFrom(
            "entries",
            "files",
            "index",
            "offset",
            "size",
            "hash",
            "version",
            "element",
            "chunk",
            "missing",
            "path",
            "kind",
            "mode",
          ),
          fc.jsonValue(),
        )
        .map((extra) => ({ ...base, ...extra })),
    ),
);

describe("fuzzing what a peer controls", () => {
  test("session frames: a FrameError or pieces within the frame limits, never another exception", () => {
    const validFrames = fc
      .array(
        fc.oneof(
          fc.jsonValue().map((v) => encodeControlFrame(JSON.stringify(v))),
          fc.uint8Array({ maxLength: 32 }).map((b) => {
            const f = new Uint8Array(5 + b.byteLength);
            f[0] = 2;
            new DataView(f.buffer).setUint32(1, b.byteLength);
            f.set(b, 5);
            return f;
          }),
        ),
        { maxLength: 4 },
      )
      .map((frames) => Buffer.concat(frames));
    fc.assert(
      fc.property(mutated(validFrames), fc.integer({ min: 1, max: 16 }), (bytes, step) => {
        const d = new FrameDecoder();
        try {
          for (let at = 0; at < bytes.byteLength; at += step)
            for (const p of d.push(bytes.subarray(at, at + step))) {
              if (p.kind === "data") expect(p.bytes.byteLength).toBeLessThanOrEqual(MAX_DATA_PAYLOAD);
              else expect(typeof p.json).toBe("string");
            }
        } catch (err) {
          if (!(err instanceof FrameError)) throw err;
        }
      }),
      params(),
    );
  });

  test("session messages: validation never throws, and what passes obeys the schema's bounds", () => {
    fc.assert(
      fc.property(jsonish, (value) => {
        const r = ControlMessage.safeParse(value);
        if (!r.success) return;
        const msg = r.data;
        if (msg.type === "offer-page") for (const e of msg.entries) expect(e.path.length).toBeGreaterThan(0);
        if (msg.type === "file" || msg.type === "file-end") expect(Number.isSafeInteger(msg.index)).toBe(true);
      }),
      params(),
    );
  });

  test("offered names: any list is answered with null or a reason; accepted ones are unique and safe", () => {
    const name = fc.oneof(
      fc.string({ maxLength: 8, unit: "binary" }),
      fc
        .array(fc.constantFrom("a", "..", ".", "", "A", "\u202e", "\ud800", "con", "x.xfer-part", "é", "e\u0301"), {
          maxLength: 5,
        })
        .map((p) => p.join("/")),
    );
    fc.assert(
      fc.property(fc.array(name, { maxLength: 6 }), (names) => {
        // On a folder that folds case and normalisation: what is accepted must be distinct there.
        const { fatal, collisions } = checkOfferedNames(names, FOLDS_EVERYTHING);
        if (fatal) {
          expect(typeof fatal.reason).toBe("string");
          return;
        }
        const kept = names.filter((_, i) => !collisions.has(i));
        expect(new Set(kept.map((n) => n.normalize("NFC").toLowerCase())).size).toBe(kept.length);
      }),
      params(RUNS / 5), // not a decoder, and the slowest to generate: a fifth of the count
    );
  });

  test("datagrams: decode returns a datagram or null, never throws", () => {
    const valid = fc.oneof(
      fc.uint8Array({ maxLength: 40 }).map((p) => encodeData(7, 1, 0, 0, p)),
      json.map((v) => encodeControl(7, { v }, 1400)[0]!),
    );
    fc.assert(
      fc.property(mutated(valid), (bytes) => {
        decodeDatagram(bytes);
      }),
      params(),
    );
  });

  test("datagram session messages: parse returns a message or null, never throws", () => {
    fc.assert(
      fc.property(jsonish, (value) => {
        const text = JSON.stringify(value) ?? "null";
        const m = parseDgMessage(text);
        if (m) expect(DgMessage.safeParse(m).success).toBe(true);
        parseDgMessage(text.slice(0, text.length >> 1));
      }),
      params(),
    );
  });

  test("records: anything but the sealer's exact bytes is 'tampered', never released", () => {
    const key = new Uint8Array(32).fill(9);
    const sealed = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((p) => new RecordSealer(key).seal(p));
    fc.assert(
      fc.property(mutated(sealed), (bytes) => {
        const opener = new RecordOpener(key);
        try {
          opener.push(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(XferError);
          expect((err as XferError).code).toBe("tampered");
        }
      }),
      params(),
    );
  });

  test("sealed datagrams: forged or altered ones are dropped and counted, never opened", () => {
    const key = new Uint8Array(32).fill(3);
    const sealer = new DatagramSealer(key);
    const valid = fc.uint8Array({ maxLength: 64 }).map((p) => sealer.seal(p));
    fc.assert(
      fc.property(mutated(valid), (bytes) => {
        const opener = new DatagramOpener(key);
        const before = opener.forged + opener.replayed;
        const opened = opener.open(Uint8Array.of(4, ...bytes.subarray(1)));
        if (opened === null) expect(opener.forged + opener.replayed).toBe(before + 1);
      }),
      params(),
    );
  });

  test("handshake messages: the responder refuses junk with an XferError, never crashes", () => {
    fc.assert(
      fc.property(jsonish, (value) => {
        const r = HandshakeMessage.safeParse(value);
        if (!r.success || r.data.type !== "pake") return;
        try {
          new ResponderHandshake("7-test-code", { kind: "stream", transport: "t" }).onPake(r.data);
        } catch (err) {
          expect(err).toBeInstanceOf(XferError);
        }
      }),
      params(),
    );
  });
});
