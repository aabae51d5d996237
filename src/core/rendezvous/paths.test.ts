import { expect, test } from "bun:test";
import fc from "fast-check";
import { XferError } from "../errors.ts";
import {
  candidatesFor,
  encodePathMessage,
  MAX_CANDIDATES,
  type PathMessage,
  PRELUDE_HEADER_BYTES,
  parsePathMessage,
} from "./paths.ts";

const IFACES = [
  { address: "127.0.0.1", family: "IPv4", internal: true },
  { address: "192.168.1.20", family: "IPv4", internal: false },
  { address: "fe80::1", family: "IPv6", internal: false },
  { address: "10.0.0.5", family: 4, internal: false },
];

test("candidates: the interfaces' IPv4 addresses and the address the relay saw; loopback only behind one outside address", () => {
  expect(candidatesFor(5000, IFACES, "203.0.113.5:40000", "198.51.100.9:1234")).toEqual([
    "192.168.1.20:5000",
    "10.0.0.5:5000",
    "203.0.113.5:5000",
  ]);
  expect(candidatesFor(5000, IFACES, "203.0.113.5:40000", "203.0.113.5:41000")).toEqual([
    "127.0.0.1:5000",
    "192.168.1.20:5000",
    "10.0.0.5:5000",
    "203.0.113.5:5000",
  ]);
  const many = Array.from({ length: 40 }, (_, i) => ({ address: `10.1.0.${i}`, family: "IPv4", internal: false }));
  expect(candidatesFor(1, many, "[2001:db8::1]:9", "[2001:db8::2]:9")).toHaveLength(MAX_CANDIDATES);
});

test("path messages round-trip; what a peer may not send is a protocol error", () => {
  const messages: PathMessage[] = [
    { type: "paths", candidates: ["10.0.0.1:7000", "[2001:db8::1]:7000"], direct: true },
    { type: "use", path: "relay" },
    { type: "chosen" },
  ];
  for (const m of messages) expect(parsePathMessage(encodePathMessage(m).subarray(PRELUDE_HEADER_BYTES))).toEqual(m);
  const bad = (v: unknown) => () => parsePathMessage(new TextEncoder().encode(JSON.stringify(v)));
  expect(bad({ type: "paths", candidates: ["evil.example:80"], direct: true })).toThrow(XferError);
  expect(bad({ type: "paths", candidates: Array(17).fill("10.0.0.1:1"), direct: true })).toThrow(XferError);
  expect(bad({ type: "use", path: "somewhere" })).toThrow(XferError);
});

test("property: any bytes are a path message or an XferError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      try {
        parsePathMessage(bytes);
      } catch (err) {
        if (!(err instanceof XferError)) throw err;
      }
    }),
    { seed: 19, numRuns: 1000 },
  );
});
