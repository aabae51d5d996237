import { XferError } from "../../core/errors.ts";
import { DEFAULT_LIMITS, type RelayLimits } from "../../relay/rooms.ts";
import { type RelayEvent, startRelay } from "../../relay/server.ts";
import { formatBytes, printable } from "../format.ts";
import { parseListen } from "../parse.ts";
import { DEFAULT_RELAY_PORT, relayPasswordOf } from "../rendezvous.ts";

export interface RelayCommandFlags {
  listen?: string;
  password?: string;
  maxRooms?: string | number;
  perAddress?: string | number;
  roomWait?: string | number;
  roomBytes?: string | number;
  roomSeconds?: string | number;
  json?: boolean;
  quiet?: boolean;
}

/** Runs until interrupted; the relay keeps no state worth saving, so stopping it only ends its rooms. */
export async function relayCommand(flags: RelayCommandFlags, signal: AbortSignal): Promise<number> {
  const at = parseListen(flags.listen ?? `0.0.0.0:${DEFAULT_RELAY_PORT}`);
  const limits: RelayLimits = {
    maxRooms: count(flags.maxRooms, "--max-rooms", DEFAULT_LIMITS.maxRooms, 1),
    maxPerAddress: count(flags.perAddress, "--per-address", DEFAULT_LIMITS.maxPerAddress, 1),
    waitMs: count(flags.roomWait, "--room-wait", DEFAULT_LIMITS.waitMs / 1000, 0) * 1000,
    roomBytes: bytes(flags.roomBytes),
    roomMs: count(flags.roomSeconds, "--room-seconds", DEFAULT_LIMITS.roomMs / 1000, 0) * 1000,
  };
  const report = (e: RelayEvent) => {
    if (flags.json) return void process.stdout.write(`${JSON.stringify(e)}\n`);
    if (flags.quiet) return;
    if (e.event === "relay-listening") console.error(`relay listening on ${e.host}:${e.port}`);
    else
      console.error(
        `room ${e.room}: ${e.outcome}${e.outcome === "closed" || e.outcome === "cut" ? `, ${formatBytes(e.bytes)} in ${e.seconds.toFixed(1)} s` : ""}${e.reason ? ` (${printable(e.reason)})` : ""}`,
      );
  };
  const server = await startRelay({
    host: at.host,
    port: at.port,
    password: flags.password === undefined ? relayPasswordOf({}) : String(flags.password),
    limits,
    onEvent: report,
  }).catch((err: unknown) => {
    throw new XferError("usage", `cannot listen on ${at.host}:${at.port}: ${(err as Error).message}`, { cause: err });
  });
  await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
  await server.close();
  return 0;
}

function count(given: string | number | undefined, flag: string, fallback: number, min: number): number {
  if (given === undefined) return fallback;
  const n = Number(given);
  if (!Number.isInteger(n) || n < min)
    throw new XferError("usage", `${flag} takes a whole number ≥ ${min}, not '${given}'`);
  return n;
}

const BYTE_UNITS: Record<string, number> = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** "0" (no limit), "500000", "64m", "10G" (binary units) → bytes. */
function bytes(given: string | number | undefined): number {
  if (given === undefined) return DEFAULT_LIMITS.roomBytes;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(String(given).trim());
  if (!m)
    throw new XferError("usage", `--room-bytes takes a size like 500000, 64m or 10g (0: no limit), not '${given}'`);
  return Math.floor(Number(m[1]) * BYTE_UNITS[m[2]!.toLowerCase()]!);
}
