/**
 * A small emulated internet in network namespaces, built and torn down by a test (root only): an
 * "internet" namespace, and home networks each behind a router that masquerades (nftables) onto it.
 * Nothing leaves these namespaces; every name carries the test's own prefix.
 */
import { spawnSync } from "node:child_process";

export interface Home {
  /** The namespace of the machine at home. */
  host: string;
  /** Its address on the home network. */
  address: string;
  /** The router's address on the internet side: what others see this home as. */
  publicAddress: string;
}

export interface NetLab {
  internet: string;
  /** An address in the internet namespace every home can reach (where the relay listens). */
  relayAddress: string;
  homes: Home[];
  /** Argv prefix that runs a command inside `ns`. */
  exec(ns: string): string[];
  destroy(): void;
}

export function sh(args: string[], input?: string, env?: NodeJS.ProcessEnv): void {
  const r = spawnSync(args[0]!, args.slice(1), { input, encoding: "utf8", env });
  if (r.status !== 0) throw new Error(`${args.join(" ")}: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
}

/** Shape `dev` in namespace `ns` to `rate` (tc's words, e.g. "100mbit") with a token bucket: a bench's slow uplink. */
export function shapeLink(ns: string, dev: string, rate: string): void {
  sh([
    "ip",
    "netns",
    "exec",
    ns,
    "tc",
    "qdisc",
    "add",
    "dev",
    dev,
    "root",
    "tbf",
    "rate",
    rate,
    "burst",
    "256kb",
    "latency",
    "20ms",
  ]);
}

/** Why namespaces cannot be built here, or null when they can. */
export function netnsUnavailable(): string | null {
  if (process.platform !== "linux") return "network namespaces are Linux only";
  if (process.getuid?.() !== 0) return "building network namespaces needs root";
  for (const tool of ["ip", "nft"])
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) return `'${tool}' is not installed`;
  const probe = `xfprobe${process.pid}`;
  try {
    sh(["ip", "netns", "add", probe]);
    sh(
      ["ip", "netns", "exec", probe, "nft", "-f", "-"],
      "table ip t {\n chain c {\n  type nat hook postrouting priority srcnat;\n }\n}\n",
    );
    return null;
  } catch (err) {
    return `cannot build namespaces with NAT here: ${(err as Error).message.trim()}`;
  } finally {
    spawnSync("ip", ["netns", "del", probe]);
  }
}

/**
 * What a lab is built from: namespaces (each named in full by the caller, removed by destroy() in reverse),
 * veth links with an address on each end, and routers that masquerade out of one device.
 */
export function namespaceBuilder(prefix: string) {
  const made: string[] = [];
  return {
    ns(full: string): string {
      sh(["ip", "netns", "add", full]);
      made.push(full);
      sh(["ip", "-n", full, "link", "set", "lo", "up"]);
      return full;
    },
    link(a: string, aName: string, aAddr: string, b: string, bName: string, bAddr: string): void {
      const [ta, tb] = [`${prefix}a${made.length}`.slice(-15), `${prefix}b${made.length}`.slice(-15)];
      sh(["ip", "link", "add", ta, "type", "veth", "peer", "name", tb]);
      sh(["ip", "link", "set", ta, "netns", a, "name", aName]);
      sh(["ip", "link", "set", tb, "netns", b, "name", bName]);
      for (const [n, dev, addr] of [
        [a, aName, aAddr],
        [b, bName, bAddr],
      ] as const) {
        sh(["ip", "-n", n, "addr", "add", addr, "dev", dev]);
        sh(["ip", "-n", n, "link", "set", dev, "up"]);
      }
    },
    masquerade(router: string, out: string): void {
      sh(["ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      sh(
        ["ip", "netns", "exec", router, "nft", "-f", "-"],
        `table ip nat {\n chain postrouting {\n  type nat hook postrouting priority srcnat;\n  oifname "${out}" masquerade\n }\n}\n`,
      );
    },
    destroy(): void {
      for (const n of made.reverse()) spawnSync("ip", ["netns", "del", n]);
      made.length = 0;
    },
  };
}

/** The internet plus `homes` NATed home networks (10.<i>.0.0/24 behind 100.64.<i>.2). */
export function buildNetLab(prefix: string, homes: number): NetLab {
  const lab = namespaceBuilder(prefix);
  const ns = (name: string) => lab.ns(`${prefix}-${name}`);
  const { link, destroy } = lab;
  try {
    const internet = ns("inet");
    const relayAddress = "198.51.100.1";
    sh(["ip", "-n", internet, "addr", "add", `${relayAddress}/32`, "dev", "lo"]);
    // The internet routes between the homes' public addresses (what a hole punched through both NATs needs).
    sh(["ip", "netns", "exec", internet, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    const out: Home[] = [];
    for (let i = 1; i <= homes; i++) {
      const router = ns(`r${i}`);
      const host = ns(`h${i}`);
      link(internet, `to-r${i}`, `100.64.${i}.1/24`, router, "wan", `100.64.${i}.2/24`);
      link(router, "lan", `10.${i}.0.1/24`, host, "eth0", `10.${i}.0.2/24`);
      sh(["ip", "-n", router, "route", "add", "default", "via", `100.64.${i}.1`]);
      sh(["ip", "-n", host, "route", "add", "default", "via", `10.${i}.0.1`]);
      lab.masquerade(router, "wan");
      out.push({ host, address: `10.${i}.0.2`, publicAddress: `100.64.${i}.2` });
    }
    return { internet, relayAddress, homes: out, exec: (n) => ["ip", "netns", "exec", n], destroy };
  } catch (err) {
    destroy();
    throw err;
  }
}

/** Two machines on one LAN segment (10.9.0.1 and 10.9.0.2/24), nothing else. */
export function buildLan(prefix: string): { hosts: [string, string]; addresses: [string, string]; destroy(): void } {
  const a = `${prefix}-l1`;
  const b = `${prefix}-l2`;
  const destroy = () => {
    for (const n of [a, b]) spawnSync("ip", ["netns", "del", n]);
  };
  try {
    for (const n of [a, b]) {
      sh(["ip", "netns", "add", n]);
      sh(["ip", "-n", n, "link", "set", "lo", "up"]);
    }
    const [ta, tb] = [`${prefix}la`.slice(-15), `${prefix}lb`.slice(-15)];
    sh(["ip", "link", "add", ta, "type", "veth", "peer", "name", tb]);
    sh(["ip", "link", "set", ta, "netns", a, "name", "eth0"]);
    sh(["ip", "link", "set", tb, "netns", b, "name", "eth0"]);
    for (const [n, addr] of [
      [a, "10.9.0.1/24"],
      [b, "10.9.0.2/24"],
    ] as const) {
      sh(["ip", "-n", n, "addr", "add", addr, "dev", "eth0"]);
      sh(["ip", "-n", n, "link", "set", "eth0", "up"]);
    }
    return { hosts: [a, b], addresses: ["10.9.0.1", "10.9.0.2"], destroy };
  } catch (err) {
    destroy();
    throw err;
  }
}
