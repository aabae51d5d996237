import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { FRAME, readFrames, writeMaxDataFrame } from "./frames.ts";
import {
  CID_BYTES,
  COOKIE_BYTES,
  encodeReset,
  encodeSyn,
  encodeSynAck,
  encodeVersionNegotiation,
  isOurs,
  MAGIC,
  MIN_DATAGRAM,
  PACKET,
  type Packet,
  readPacket,
  startData,
  startEcho,
  type TransportParams,
  VERSION_NEGOTIATION,
  versionOf,
  WIRE_VERSION,
} from "./packet.ts";
import { WireError } from "./varint.ts";

const cid = () => fc.uint8Array({ minLength: CID_BYTES, maxLength: CID_BYTES });
const cookie = () => fc.uint8Array({ minLength: COOKIE_BYTES, maxLength: COOKIE_BYTES });
const params = (): fc.Arbitrary<TransportParams> =>
  fc.record({
    maxDatagram: fc.integer({ min: MIN_DATAGRAM, max: 65527 }),
    initialMaxData: fc.maxSafeNat(),
    idleTimeoutMs: fc.maxSafeNat(),
  });
const pn48 = () => fc.integer({ min: 0, max: 2 ** 48 - 1 });

const P: TransportParams = { maxDatagram: 1472, initialMaxData: 2 * 1024 * 1024, idleTimeoutMs: 30_000 };
const C1 = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
const C2 = new Uint8Array([9, 10, 11, 12, 13, 14, 15, 16]);
const K = new Uint8Array(COOKIE_BYTES).map((_, i) => 100 + i);

function echoBytes(pn: number, extra: (w: ReturnType<typeof startEcho>) => void = (w) => void w.u8(FRAME.ping)) {
  const w = startEcho(new Uint8Array(MIN_DATAGRAM), C2, C1, pn, K, P);
  extra(w);
  return w.done().slice();
}

function dataBytes(pn: number, payload: Uint8Array = new Uint8Array([FRAME.ping])) {
  return startData(new Uint8Array(64 + payload.byteLength), C1, pn)
    .raw(payload)
    .done()
    .slice();
}

/** Errors other than WireError escape; WireError becomes null. */
function parse(bytes: Uint8Array): Packet | null {
  try {
    return readPacket(bytes);
  } catch (err) {
    if (err instanceof WireError) return null;
    throw err;
  }
}

describe("packet round trips", () => {
  test("SYN is padded to the minimum datagram and round-trips", () => {
    fc.assert(
      fc.property(cid(), params(), (clientCid, p) => {
        const bytes = encodeSyn(clientCid, p);
        expect(bytes.byteLength).toBe(MIN_DATAGRAM);
        expect(bytes[0]).toBe(MAGIC);
        expect(bytes[1]).toBe((WIRE_VERSION << 4) | PACKET.syn);
        expect(readPacket(bytes)).toEqual({ type: "syn", clientCid, params: p });
      }),
    );
  });

  test("SYN-ACK round-trips", () => {
    fc.assert(
      fc.property(cid(), cid(), cookie(), params(), (clientCid, serverCid, c, p) => {
        const bytes = encodeSynAck(clientCid, serverCid, c, p);
        expect(bytes[1]).toBe((WIRE_VERSION << 4) | PACKET.synAck);
        expect(readPacket(bytes)).toEqual({ type: "syn-ack", clientCid, serverCid, cookie: c, params: p });
      }),
    );
  });

  test("ECHO round-trips its header and leaves the frames to readFrames", () => {
    fc.assert(
      fc.property(
        cid(),
        cid(),
        pn48(),
        cookie(),
        params(),
        fc.maxSafeNat(),
        (serverCid, clientCid, pn, c, p, limit) => {
          const w = startEcho(new Uint8Array(MIN_DATAGRAM), serverCid, clientCid, pn, c, p).u8(FRAME.ping);
          w.at = writeMaxDataFrame(w.view, w.at, limit);
          const packet = readPacket(w.done());
          if (packet.type !== "echo") throw new Error(`parsed as ${packet.type}`);
          expect(packet.serverCid).toEqual(serverCid);
          expect(packet.clientCid).toEqual(clientCid);
          expect(packet.pn).toBe(pn);
          expect(packet.cookie).toEqual(c);
          expect(packet.params).toEqual(p);
          expect(readFrames(packet.payload)).toEqual([{ type: "ping" }, { type: "max-data", limit }]);
        },
      ),
    );
  });

  test("DATA header round-trips with the payload after it", () => {
    fc.assert(
      fc.property(cid(), pn48(), fc.uint8Array({ maxLength: 100 }), (dcid, pn, payload) => {
        const bytes = startData(new Uint8Array(200), dcid, pn).raw(payload).done();
        expect(bytes.byteLength).toBe(2 + CID_BYTES + 6 + payload.byteLength);
        const packet = readPacket(bytes);
        if (packet.type !== "data") throw new Error(`parsed as ${packet.type}`);
        expect(packet.dcid).toEqual(dcid);
        expect(packet.pn).toBe(pn);
        expect(packet.payload.remaining).toBe(payload.byteLength);
        expect(packet.payload.take(payload.byteLength)).toEqual(payload);
      }),
    );
  });

  test("RESET round-trips and is exactly 10 bytes", () => {
    fc.assert(
      fc.property(cid(), (c) => {
        const bytes = encodeReset(c);
        expect(bytes.byteLength).toBe(2 + CID_BYTES);
        expect(readPacket(bytes)).toEqual({ type: "reset", cid: c });
      }),
    );
  });

  test("VERSION negotiation echoes the SYN's client CID, names our version, and lists at most 16", () => {
    const syn = encodeSyn(C1, P);
    const bytes = encodeVersionNegotiation(syn);
    expect([...bytes]).toEqual([MAGIC, VERSION_NEGOTIATION, ...C1, WIRE_VERSION]);
    expect(bytes.byteLength).toBeLessThan(syn.byteLength);
    expect(readPacket(bytes)).toEqual({ type: "version", clientCid: C1, versions: [WIRE_VERSION] });
    const long = new Uint8Array(40).map((_, i) => i);
    long[0] = MAGIC;
    long[1] = VERSION_NEGOTIATION;
    expect(readPacket(long)).toEqual({
      type: "version",
      clientCid: long.subarray(2, 10),
      versions: Array.from({ length: 16 }, (_, i) => i + 10),
    });
    // Truncations: without the whole CID it is refused; after it, fewer versions.
    for (let n = 0; n < 2 + CID_BYTES; n++) expect(parse(bytes.subarray(0, n))).toBeNull();
    expect(readPacket(bytes.subarray(0, 2 + CID_BYTES))).toEqual({ type: "version", clientCid: C1, versions: [] });
  });

  test("isOurs and versionOf look only at the first two bytes", () => {
    expect(isOurs(encodeReset(C1))).toBe(true);
    expect(isOurs(new Uint8Array([MAGIC]))).toBe(false);
    expect(isOurs(new Uint8Array([0x54, 0x14]))).toBe(false);
    expect(versionOf(encodeSyn(C1, P))).toBe(WIRE_VERSION);
    expect(versionOf(new Uint8Array([MAGIC, 0x31]))).toBe(3);
    expect(versionOf(new Uint8Array([MAGIC]))).toBe(0);
  });
});

describe("packet rejections", () => {
  test("wrong magic, wrong version, unknown type, empty datagrams", () => {
    const reset = encodeReset(C1);
    const cases: Uint8Array[] = [
      new Uint8Array(0),
      new Uint8Array([MAGIC]),
      Uint8Array.from([0x56, ...reset.subarray(1)]),
      Uint8Array.from([MAGIC, 0x15, ...reset.subarray(2)]), // version 1 (its ACKs carry no clock)
      Uint8Array.from([MAGIC, 0x35, ...reset.subarray(2)]), // version 3
      Uint8Array.from([MAGIC, 0x05, ...reset.subarray(2)]), // version 0
      Uint8Array.from([MAGIC, (WIRE_VERSION << 4) | 0, ...reset.subarray(2)]), // type 0
      Uint8Array.from([MAGIC, (WIRE_VERSION << 4) | 6, ...reset.subarray(2)]), // type 6
      Uint8Array.from([MAGIC, (WIRE_VERSION << 4) | 14, ...reset.subarray(2)]), // type 14
    ];
    for (const bytes of cases) expect(() => readPacket(bytes)).toThrow(WireError);
  });

  test("a SYN shorter than the minimum datagram is refused even if its fields are intact", () => {
    const syn = encodeSyn(C1, P);
    expect(() => readPacket(syn.subarray(0, MIN_DATAGRAM - 1))).toThrow(WireError);
    // Longer than the minimum is fine.
    const long = new Uint8Array(MIN_DATAGRAM + 100);
    long.set(syn);
    expect(readPacket(long)).toMatchObject({ type: "syn", params: P });
  });

  test("handshake params with an impossible max datagram are refused", () => {
    for (const maxDatagram of [0, 1199, 65528, 65535]) {
      expect(() => readPacket(encodeSyn(C1, { ...P, maxDatagram }))).toThrow(WireError);
      expect(() => readPacket(encodeSynAck(C1, C2, K, { ...P, maxDatagram }))).toThrow(WireError);
    }
    for (const maxDatagram of [1200, 65527])
      expect(readPacket(encodeSynAck(C1, C2, K, { ...P, maxDatagram }))).toMatchObject({ params: { maxDatagram } });
  });

  test("every truncation of a header-only packet is refused", () => {
    const whole = [encodeSyn(C1, P), encodeSynAck(C1, C2, K, P), encodeReset(C1), dataBytes(7, new Uint8Array(0))];
    for (const bytes of whole) {
      expect(parse(bytes)).not.toBeNull();
      for (let n = 0; n < bytes.byteLength; n++) expect(parse(bytes.subarray(0, n))).toBeNull();
    }
  });

  test("truncating ECHO/DATA inside the header is refused; inside the frames it only shortens the payload", () => {
    fc.assert(
      fc.property(pn48(), fc.uint8Array({ maxLength: 60 }), fc.nat(), (pn, payload, cut) => {
        const echo = echoBytes(pn, (w) => void w.raw(payload));
        const echoHeader = echo.byteLength - payload.byteLength;
        const data = dataBytes(pn, payload);
        const dataHeader = 2 + CID_BYTES + 6;
        for (const [bytes, header] of [
          [echo, echoHeader],
          [data, dataHeader],
        ] as const) {
          const n = cut % (bytes.byteLength + 1);
          const got = parse(bytes.subarray(0, n));
          if (n < header) {
            expect(got).toBeNull();
            continue;
          }
          if (got === null || (got.type !== "echo" && got.type !== "data")) throw new Error("header not parsed");
          expect(got.pn).toBe(pn);
          expect(got.payload.at).toBe(header);
          expect(got.payload.remaining).toBe(n - header);
          expect(got.payload.take(n - header)).toEqual(payload.subarray(0, n - header));
        }
      }),
    );
  });
});

describe("readPacket on arbitrary bytes", () => {
  const ourHeader = fc.integer({ min: 0, max: 0xff }).map((vt) => [MAGIC, vt]);
  const validHeader = fc.integer({ min: 0, max: 15 }).map((t) => [MAGIC, (WIRE_VERSION << 4) | t]);
  const datagram = fc.oneof(
    fc.uint8Array({ maxLength: 80 }),
    fc
      .tuple(fc.oneof(ourHeader, validHeader), fc.uint8Array({ maxLength: 80 }))
      .map(([h, rest]) => Uint8Array.from([...h, ...rest])),
    // SYN-sized, so the SYN parser and its params are reached.
    fc
      .tuple(validHeader, fc.uint8Array({ maxLength: 40 }), fc.integer({ min: 1190, max: 1300 }), fc.nat(255))
      .map(([h, fields, size, fill]) => {
        const d = new Uint8Array(size).fill(fill);
        d.set([...h, ...fields]);
        return d;
      }),
  );

  test("either parses to a packet consistent with its type byte or throws WireError", () => {
    const byType: Record<number, Packet["type"]> = {
      [PACKET.syn]: "syn",
      [PACKET.synAck]: "syn-ack",
      [PACKET.echo]: "echo",
      [PACKET.data]: "data",
      [PACKET.reset]: "reset",
    };
    fc.assert(
      fc.property(datagram, (bytes) => {
        const p = parse(bytes);
        if (p === null) return;
        expect(bytes[0]).toBe(MAGIC);
        const vt = bytes[1] as number;
        if (vt === VERSION_NEGOTIATION) {
          expect(p).toEqual({
            type: "version",
            clientCid: bytes.subarray(2, 2 + CID_BYTES),
            versions: [...bytes.subarray(2 + CID_BYTES, 2 + CID_BYTES + 16)],
          });
          return;
        }
        expect(vt >> 4).toBe(WIRE_VERSION);
        expect(p.type).toBe(byType[vt & 0x0f] as Packet["type"]);
        if (p.type === "syn") expect(bytes.byteLength).toBeGreaterThanOrEqual(MIN_DATAGRAM);
        if (p.type === "data" || p.type === "echo") {
          expect(p.payload.at + p.payload.remaining).toBe(bytes.byteLength);
          // The frames parser also fails only with WireError.
          try {
            readFrames(p.payload);
          } catch (err) {
            expect(err).toBeInstanceOf(WireError);
          }
        }
        if ("params" in p) {
          expect(p.params.maxDatagram).toBeGreaterThanOrEqual(MIN_DATAGRAM);
          expect(p.params.maxDatagram).toBeLessThanOrEqual(65527);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test("single bit flips of valid packets parse or throw WireError", () => {
    const valid = [encodeSyn(C1, P), encodeSynAck(C1, C2, K, P), echoBytes(5), dataBytes(9), encodeReset(C2)];
    fc.assert(
      fc.property(fc.constantFrom(...valid), fc.nat(), fc.integer({ min: 0, max: 7 }), (packet, at, bit) => {
        const bytes = packet.slice();
        const i = at % bytes.byteLength;
        bytes[i] = (bytes[i] as number) ^ (1 << bit);
        const p = parse(bytes);
        if (i === 0) expect(p).toBeNull(); // magic broken
      }),
    );
  });
});
