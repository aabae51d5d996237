import { describe, expect, test } from "bun:test";
import { closest, parseEndpoint, parseListen, parseRate, parseTransportOpts } from "./parse.ts";

describe("endpoints", () => {
  test.each([
    ["example.org", { host: "example.org", port: 7878 }],
    ["127.0.0.1:9000", { host: "127.0.0.1", port: 9000 }],
    ["[::1]:9000", { host: "::1", port: 9000 }],
    ["[::]", { host: "::", port: 7878 }],
    ["::1", { host: "::1", port: 7878 }],
    ["0.0.0.0:0", { host: "0.0.0.0", port: 0 }],
  ])("%p", (text, want) => {
    expect(parseEndpoint(text)).toEqual(want);
  });
  test.each([[":80"], ["h:99999"], ["h:x"], ["[::1]:-1"]])("refuses %p", (text) => {
    expect(() => parseEndpoint(text)).toThrow();
  });
});

describe("rates", () => {
  test.each([
    ["95mbit", 95e6],
    ["1g", 1e9],
    ["1.5G", 1.5e9],
    ["500000", 5e5],
    ["10kbps", 1e4],
  ])("%p", (text, bits) => {
    expect(parseRate(text)).toBe(bits);
  });
  test.each([["fast"], ["0"], ["-5m"], ["1x"]])("refuses %p", (text) => {
    expect(() => parseRate(text)).toThrow(/bad rate/);
  });
});

test("transport options", () => {
  expect(parseTransportOpts(["mtu=1400", "a=b=c"])).toEqual({ mtu: "1400", a: "b=c" });
  expect(() => parseTransportOpts(["novalue"])).toThrow(/key=value/);
});

describe("--listen", () => {
  test.each([
    ["7899", { host: "0.0.0.0", port: 7899 }],
    [":7899", { host: "0.0.0.0", port: 7899 }],
    [7899, { host: "0.0.0.0", port: 7899 }],
    ["127.0.0.1:0", { host: "127.0.0.1", port: 0 }],
    ["[::]:7878", { host: "::", port: 7878 }],
  ] as const)("%p", (text, want) => {
    expect(parseListen(text)).toEqual(want);
  });
  test.each([["99999"], [":x"], ["host:"]])("refuses %p", (text) => {
    expect(() => parseListen(text)).toThrow();
  });
});

describe("did you mean", () => {
  const flags = ["via", "name", "rate", "transport-opt", "follow-symlinks", "verbose"];
  test.each([
    ["vai", "via"],
    ["nmae", "name"],
    ["transport-op", "transport-opt"],
    ["verbos", "verbose"],
  ])("%p → %p", (typed, want) => {
    expect(closest(typed, flags)).toBe(want);
  });
  test("nothing close is no suggestion", () => {
    expect(closest("colour", flags)).toBeNull();
  });
});
