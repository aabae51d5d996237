/** Which of this machine's addresses a sender on another machine can dial. Pure: interfaces come in. */
import type { NetworkInterfaceInfo } from "node:os";

/**
 * A specific listen address is the only one; a wildcard means every non-loopback address of its
 * family ("::" takes IPv4 too, as Linux dual-stack sockets do). Link-local IPv6 (fe80::/10) is left
 * out: it needs an interface name the other machine does not know.
 */
export function reachableAddresses(
  listenHost: string,
  interfaces: Record<string, NetworkInterfaceInfo[] | undefined>,
): string[] {
  if (listenHost !== "0.0.0.0" && listenHost !== "::") return [listenHost];
  const all = Object.values(interfaces).flatMap((list) => list ?? []);
  const v4 = all.filter((a) => !a.internal && a.family === "IPv4").map((a) => a.address);
  const v6 =
    listenHost === "::"
      ? all.filter((a) => !a.internal && a.family === "IPv6" && !/^fe[89ab]/i.test(a.address)).map((a) => a.address)
      : [];
  return [...new Set([...v4, ...v6])];
}
