/** Parsing of what people type: addresses and rates. Pure, so it is tested without a shell. */
import { XferError } from "../core/errors.ts";
import type { Endpoint } from "../plugin/api.ts";

export const DEFAULT_PORT = 7878;

/**
 * cac (through mri) silently drops a lone "-" and what follows it, so main() swaps it for this
 * token before parsing and the send command swaps it back: "-" means standard input.
 */
export const STDIN_ARG = "\u0000stdin";

export function protectStdinArg(argv: readonly string[]): string[] {
  return argv.map((a) => (a === "-" ? STDIN_ARG : a));
}

/** "host", "host:port", "[v6]:port", "v6" (bare, no port) → endpoint. */
export function parseEndpoint(given: string | number, defaultPort = DEFAULT_PORT): Endpoint {
  // cac hands over what looks like a number as a number ("--listen 7899").
  const text = String(given);
  if (text.startsWith("[")) {
    const bracketed = /^\[([^\]]+)\](?::([^:]*))?$/.exec(text);
    if (!bracketed) throw new XferError("usage", `'${text}' is not [address]:port`);
    return { host: bracketed[1]!, port: parsePort(bracketed[2], text, defaultPort) };
  }
  const colons = text.split(":").length - 1;
  if (colons > 1) return { host: text, port: defaultPort }; // a bare IPv6 address
  const [host, port] = text.split(":");
  if (!host) throw new XferError("usage", `'${text}' has no host`);
  return { host, port: parsePort(port, text, defaultPort) };
}

/**
 * What `--listen` accepts: an endpoint, or just a port ("7899", ":7899"), which means that port on
 * every interface.
 */
export function parseListen(given: string | number): Endpoint {
  const text = String(given);
  if (/^:?\d+$/.test(text)) return { host: "0.0.0.0", port: parsePort(text.replace(":", ""), text, DEFAULT_PORT) };
  return parseEndpoint(text);
}

function parsePort(port: string | undefined, text: string, fallback: number): number {
  if (port === undefined) return fallback;
  const n = Number(port);
  if (!/^\d+$/.test(port) || n > 65535)
    throw new XferError("usage", `'${text}': port must be a number from 0 to 65535`);
  return n;
}

export function formatEndpoint({ host, port }: Endpoint): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

const RATE_UNITS: Record<string, number> = { "": 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 };

/** "95mbit", "100M", "1.5g", "800000" → bits per second. */
export function parseRate(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:bit|bps|b)?(?:\/s)?$/i.exec(text.trim());
  const value = m ? Number(m[1]) * RATE_UNITS[m[2]!.toLowerCase()]! : Number.NaN;
  if (!(value > 0) || !Number.isFinite(value))
    throw new XferError("usage", `bad rate '${text}': use bits per second like 95mbit, 1g or 500000`);
  return value;
}

/** `--transport-opt key=value` (repeatable) → record. */
export function parseTransportOpts(values: readonly (string | number)[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const given of values) {
    const v = String(given);
    const eq = v.indexOf("=");
    if (eq <= 0) throw new XferError("usage", `--transport-opt '${v}' must look like key=value`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

/** The known name closest to `typed` (at most two edits away), for "did you mean" hints. */
export function closest(typed: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const k of known) {
    const d = editDistance(typed, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

/** Levenshtein distance, with a swap of two neighbours counted as one edit ("--vai" → "--via"). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  return d[a.length]![b.length]!;
}
