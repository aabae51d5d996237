import { describe, expect, test } from "bun:test";
import { parseEndpoint, parseRate, parseTransportOpts } from "./parse.ts";

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
