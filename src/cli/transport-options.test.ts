import { expect, test } from "bun:test";
import { z } from "zod";
import tcpStream from "../../plugins/tcp-stream/index.ts";
import udpRaw from "../../plugins/udp-raw/index.ts";
import udpReliable from "../../plugins/udp-reliable/index.ts";
import type { AnyTransport } from "../plugin/api.ts";
import { checkTransportOptions, declaredOptions, rateProblem } from "./transport-options.ts";

const check = (transports: AnyTransport[], extra: Record<string, string>) => () =>
  checkTransportOptions(transports, { extra });
const freeForm = { ...tcpStream, name: "free-form", options: undefined } as AnyTransport;

test("a key no chosen transport declares is refused, naming the known ones", () => {
  expect(check([tcpStream], { mtu: "1400" })).toThrow(
    "unknown --transport-opt 'mtu' for tcp-stream (known: connectTimeoutMs",
  );
  expect(check([udpRaw], { x: "1" })).toThrow("it takes none");
  // A receiver on every transport: udp-reliable's key is fine although tcp-stream does not know it.
  expect(check([tcpStream, udpReliable, udpRaw], { mtu: "1400" })).not.toThrow();
  // A transport without a schema takes anything.
  expect(check([freeForm], { whatever: "1" })).not.toThrow();
});

test("a value the declaring transport's schema refuses is a usage error", () => {
  expect(check([udpReliable], { mtu: "abc" })).toThrow(
    "--transport-opt for udp-reliable: mtu: a whole number of bytes",
  );
  expect(check([udpReliable], { mtu: "100" })).toThrow("mtu: from 1200 to 65507");
  expect(check([udpReliable], { cc: "cubic" })).toThrow("--transport-opt for udp-reliable: cc");
  expect(check([tcpStream, udpReliable], { cc: "fixed", window: "65536" })).not.toThrow();
});

test("declared options are listed with their descriptions", () => {
  const t = { ...freeForm, options: z.strictObject({ k: z.string().optional().describe("what k does") }) };
  expect(declaredOptions(t as AnyTransport)).toEqual([{ key: "k", description: "what k does" }]);
  expect(declaredOptions(freeForm)).toEqual([]);
});

test("--rate names the transports that do not pace", () => {
  expect(rateProblem([udpReliable, udpRaw], { extra: {}, rateBitsPerSecond: 1e6 })).toBeNull();
  expect(rateProblem([tcpStream, udpRaw], { extra: {}, rateBitsPerSecond: 1e6 })).toContain("tcp-stream");
  expect(rateProblem([tcpStream], { extra: {} })).toBeNull();
});
