import { expect, test } from "bun:test";
import type { NetworkInterfaceInfo } from "node:os";
import { reachableAddresses } from "./addresses.ts";

const iface = (address: string, family: "IPv4" | "IPv6", internal = false) =>
  ({ address, family, internal, netmask: "", mac: "", cidr: null }) as NetworkInterfaceInfo;

const machine = {
  lo: [iface("127.0.0.1", "IPv4", true), iface("::1", "IPv6", true)],
  eth0: [iface("192.0.2.7", "IPv4"), iface("fe80::1", "IPv6"), iface("2001:db8::7", "IPv6")],
  wlan0: [iface("198.51.100.3", "IPv4"), iface("fd00::3", "IPv6")],
};

test("a wildcard lists non-loopback addresses of what it accepts; link-local IPv6 is left out", () => {
  expect(reachableAddresses("0.0.0.0", machine)).toEqual(["192.0.2.7", "198.51.100.3"]);
  expect(reachableAddresses("::", machine)).toEqual(["192.0.2.7", "198.51.100.3", "2001:db8::7", "fd00::3"]);
});

test("a specific listen address is the only one; a machine with only loopback has none", () => {
  expect(reachableAddresses("192.0.2.7", machine)).toEqual(["192.0.2.7"]);
  expect(reachableAddresses("0.0.0.0", { lo: machine.lo })).toEqual([]);
});
