/**
 * Connection settings from the command line: `--rate` and `--transport-opt key=value` (cc, window,
 * max-window, mtu, idle). Unknown keys are refused loudly rather than ignored silently.
 */
import { z } from "zod";
import type { TransportOptions } from "../../src/plugin/api.ts";
import { isLoopback } from "../../src/plugin/udp/index.ts";
import { CONTROLLERS } from "./congestion/index.ts";
import { type ConnectionConfig, DEFAULT_CONFIG } from "./connection.ts";
import { MAX_DATAGRAM, MIN_DATAGRAM } from "./wire/packet.ts";

const KNOWN = ["cc", "window", "max-window", "mtu", "idle"];

const positive = (what: string) =>
  z
    .string()
    .regex(/^[1-9]\d*$/, "a positive whole number")
    .optional()
    .describe(what);

/** The same settings as a schema, so the CLI refuses bad ones (exit 2) and lists them. */
export const OPTIONS_SCHEMA = z.strictObject({
  cc: z
    .enum(Object.keys(CONTROLLERS) as [string, ...string[]])
    .optional()
    .describe(
      `congestion control: ${Object.keys(CONTROLLERS).join(" or ")} (default ${DEFAULT_CONFIG.cc}; fixed needs --rate)`,
    ),
  window: positive(`initial flow window, bytes (default ${DEFAULT_CONFIG.window.initial})`),
  "max-window": positive(`largest flow window, bytes (default ${DEFAULT_CONFIG.window.max})`),
  mtu: z
    .string()
    .regex(/^[1-9]\d*$/, { message: "a whole number of bytes", abort: true })
    .refine((v) => Number(v) >= MIN_DATAGRAM && Number(v) <= 65507, `from ${MIN_DATAGRAM} to 65507`)
    .optional()
    .describe("datagram size, bytes (default: 1472 on IPv4, 1452 on IPv6, 16384 on loopback)"),
  idle: positive(`give up on a silent peer after this many ms (default ${DEFAULT_CONFIG.idleTimeoutMs})`),
});

/**
 * Datagram size offered on loopback (see isLoopback): big datagrams cut the per-packet CPU cost,
 * the bottleneck there, several times. Everywhere else the Ethernet limit.
 */
export const LOOPBACK_DATAGRAM = 16384;

export function configFrom(options: TransportOptions, address: string): ConnectionConfig {
  const ipv6 = address.includes(":");
  for (const key of Object.keys(options.extra))
    if (!KNOWN.includes(key)) throw new Error(`udp-reliable: unknown option '${key}' (known: ${KNOWN.join(", ")})`);
  const cc = options.extra.cc ?? DEFAULT_CONFIG.cc;
  if (!CONTROLLERS[cc])
    throw new Error(`udp-reliable: unknown cc '${cc}' (known: ${Object.keys(CONTROLLERS).join(", ")})`);
  const maxRate = options.rateBitsPerSecond ? options.rateBitsPerSecond / 8 : Number.POSITIVE_INFINITY;
  if (cc === "fixed" && !Number.isFinite(maxRate)) throw new Error("udp-reliable: cc=fixed needs --rate");
  // IPv6 headers are 20 bytes longer than IPv4's: keep the datagram inside a 1500-byte MTU either way.
  const pathMax = isLoopback(address) ? LOOPBACK_DATAGRAM : ipv6 ? MAX_DATAGRAM - 20 : MAX_DATAGRAM;
  const mtu = int(options.extra.mtu, pathMax, "mtu");
  if (mtu < MIN_DATAGRAM || mtu > 65507) throw new Error(`udp-reliable: mtu must be ${MIN_DATAGRAM}..65507`);
  const initial = int(options.extra.window, DEFAULT_CONFIG.window.initial, "window");
  const max = Math.max(initial, int(options.extra["max-window"], DEFAULT_CONFIG.window.max, "max-window"));
  return {
    ...DEFAULT_CONFIG,
    cc,
    maxRate,
    maxDatagram: mtu,
    window: { initial, max },
    idleTimeoutMs: int(options.extra.idle, DEFAULT_CONFIG.idleTimeoutMs, "idle"),
  };
}

function int(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`udp-reliable: ${name} must be a positive integer, not '${value}'`);
  return n;
}
