import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { release } from "../../plugin/owned-chunks.ts";
import {
  MAX_RECORD_PLAINTEXT,
  nonceOf,
  RECORD_HEADER_BYTES,
  RecordOpener,
  RecordSealer,
  TAG_BYTES,
} from "./records.ts";

const key = new Uint8Array(32).fill(7);
const otherKey = new Uint8Array(32).fill(8);
const concat = (parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

describe("record layer", () => {
  test("known answer: AES-256-GCM, nonce = 4 zero bytes + record number, length header as AAD", () => {
    const record = new RecordSealer(key).seal(new TextEncoder().encode("xfer"));
    // Fixed key and counter 0: a regression vector (node:crypto's AES-256-GCM, checked against Deno's too).
    expect(Buffer.from(record).toString("hex")).toBe(KNOWN_RECORD);
    expect(record.byteLength).toBe(RECORD_HEADER_BYTES + 4 + TAG_BYTES);
  });

  test("records agree with an independent AES-GCM (WebCrypto) for later record numbers", async () => {
    const sealer = new RecordSealer(key);
    const plain = new TextEncoder().encode("the third record");
    sealer.seal(new Uint8Array(1));
    sealer.seal(new Uint8Array(1));
    const record = sealer.seal(plain);
    const k = await crypto.subtle.importKey("raw", key, "AES-GCM", false, ["encrypt"]);
    const sealed = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonceOf(2), additionalData: record.subarray(0, RECORD_HEADER_BYTES) },
      k,
      plain,
    );
    expect(Buffer.from(record.subarray(RECORD_HEADER_BYTES)).toString("hex")).toBe(Buffer.from(sealed).toString("hex"));
  });

  test("nonces are the big-endian record number, unique for every number below 2^53", () => {
    expect(nonceOf(0).toString("hex")).toBe("000000000000000000000000");
    expect(nonceOf(2 ** 32 + 5).toString("hex")).toBe("000000000000000100000005");
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        (a, b) => (a === b ? true : nonceOf(a).toString("hex") !== nonceOf(b).toString("hex")),
      ),
    );
  });

  test("a sealer never reuses a nonce: the same plaintext twice gives different records", () => {
    const sealer = new RecordSealer(key);
    const a = sealer.seal(new Uint8Array(100));
    const b = sealer.seal(new Uint8Array(100));
    expect(Buffer.compare(a, b)).not.toBe(0);
    expect(sealer.sealed).toBe(2);
  });

  test("round trip through any chunking of the stream (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 3000 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 4000 }), { minLength: 1, maxLength: 20 }),
        (plaintexts, cuts) => {
          const sealer = new RecordSealer(key);
          const stream = concat(plaintexts.map((p) => sealer.seal(p)));
          const opener = new RecordOpener(key);
          const out: Uint8Array[] = [];
          for (let at = 0, i = 0; at < stream.byteLength; i++) {
            const n = cuts[i % cuts.length] as number;
            out.push(...opener.push(stream.subarray(at, at + n)));
            at += n;
          }
          expect(opener.atBoundary).toBe(true);
          // Pieces follow the chunking; the bytes are the stream's, in order.
          expect(Buffer.from(concat(out)).toString("hex")).toBe(Buffer.from(concat(plaintexts)).toString("hex"));
        },
      ),
      { numRuns: 300 },
    );
  });

  test("one flipped bit anywhere in a record fails it (property)", () => {
    const sealer = new RecordSealer(key);
    const records = [sealer.seal(new Uint8Array(64).fill(1)), sealer.seal(new Uint8Array(300).fill(2))];
    const stream = concat(records);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: stream.byteLength * 8 - 1 }), (bit) => {
        const bad = stream.slice();
        bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
        const opener = new RecordOpener(key);
        // A flipped length bit may leave the opener waiting for more bytes; what it does release is never altered.
        let released: Uint8Array[] = [];
        let threw = false;
        try {
          released = opener.push(bad);
        } catch (err) {
          threw = true;
          expect((err as { code?: string }).code).toBe("tampered");
        }
        expect(threw || released.length < 2).toBe(true);
        if (released.length === 1) expect(bit >= records[0]!.byteLength * 8).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  test("replayed, reordered, reflected or foreign records do not open", () => {
    const sealer = new RecordSealer(key);
    const first = sealer.seal(new Uint8Array([1]));
    const second = sealer.seal(new Uint8Array([2]));
    const fails = (chunks: Uint8Array[], k = key) => {
      const opener = new RecordOpener(k);
      return () => {
        for (const c of chunks) opener.push(c);
      };
    };
    expect(fails([first, first])).toThrow(/altered/); // replayed
    expect(fails([second, first])).toThrow(/altered/); // reordered
    expect(fails([first], otherKey)).toThrow(/altered/); // the other direction's key, or a wrong code
  });

  test("a length no record of ours can have is refused before anything is buffered", () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(MAX_RECORD_PLAINTEXT + TAG_BYTES + 1);
    expect(() => new RecordOpener(key).push(header)).toThrow(/cannot be ours/);
    header.writeUInt32BE(3);
    expect(() => new RecordOpener(key).push(header)).toThrow(/cannot be ours/);
  });

  test("ciphertext and opened plaintext are handed over: freed once used, and the record still opens", () => {
    const plain = new Uint8Array(300_000).map((_, i) => i % 251);
    const [header, body, tag] = new RecordSealer(key).sealParts(plain);
    const wire = concat([header!, body!, tag!]);
    expect(release(body!)).toBe(true);
    expect(body!.byteLength).toBe(0);
    // Deciphered in transport-sized pieces, as a socket delivers them.
    const opener = new RecordOpener(key);
    const out: Uint8Array[] = [];
    for (let at = 0; at < wire.byteLength; at += 65536) out.push(...opener.push(wire.subarray(at, at + 65536)));
    expect(concat(out)).toEqual(plain);
    for (const piece of out) if (piece.byteLength >= 4096) expect(release(piece)).toBe(true);
    // The input chunks were not the opener's to free.
    expect(wire.byteLength).toBe(RECORD_HEADER_BYTES + plain.byteLength + TAG_BYTES);
  });

  test("plaintexts above the record limit are refused by the sealer", () => {
    expect(() => new RecordSealer(key).seal(new Uint8Array(MAX_RECORD_PLAINTEXT + 1))).toThrow();
  });
});

const KNOWN_RECORD = "0000001419bec1c0b2f9de081ce6476f71884e4f5d92f071";
