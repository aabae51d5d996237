import { EXIT, type ExitCode, XferError } from "../../core/errors.ts";
import type { EventSink } from "../../core/events.ts";
import { DEFAULT_IDLE_TIMEOUT_MS } from "../../core/protocol/channel.ts";
import { normalizeCode } from "../../core/secure/code.ts";
import type { SessionResult } from "../../core/session/result.ts";
import type { TransportOptions } from "../../plugin/api.ts";
import { parseRate, parseTransportOpts } from "../parse.ts";

export interface CommonFlags {
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  rate?: string;
  transportOpt?: string | string[];
  idleTimeout?: string | number;
  /** `--plugin` paths, in the order given. */
  plugin?: string | string[];
  code?: string | number;
}

/** `--code` wins over XFER_CODE (which keeps the code out of `ps` and shell history). */
export function codeOf(flags: CommonFlags): string | null {
  const given = flags.code ?? process.env.XFER_CODE;
  return given === undefined || given === "" ? null : normalizeCode(String(given));
}

export function idleTimeoutMs(flags: CommonFlags): number {
  if (flags.idleTimeout === undefined) return DEFAULT_IDLE_TIMEOUT_MS;
  const seconds = Number(flags.idleTimeout);
  if (!Number.isFinite(seconds) || seconds < 0)
    throw new XferError("usage", `--idle-timeout takes seconds (0 to wait forever), not '${flags.idleTimeout}'`);
  return seconds * 1000;
}

export function transportOptions(flags: CommonFlags): TransportOptions {
  const extra = parseTransportOpts(toArray(flags.transportOpt));
  return { rateBitsPerSecond: flags.rate === undefined ? undefined : parseRate(String(flags.rate)), extra };
}

export function pluginPaths(flags: CommonFlags): string[] {
  return toArray(flags.plugin).map(String);
}

export function toArray<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

export function reportDone(emit: EventSink, r: SessionResult, savedTo?: string): void {
  emit({
    event: "done",
    files: r.files,
    failed: r.failures.length,
    bytes: r.bytes,
    seconds: Number(r.seconds.toFixed(3)),
    throughputBytesPerSec: r.seconds > 0 ? Math.round(r.bytes / r.seconds) : 0,
    hash: r.hash,
    ...(savedTo === undefined ? {} : { savedTo }),
  });
}

/** A session that completed with failed files exits with the first failure's code. */
export function exitCodeOf(r: SessionResult): ExitCode {
  const first = r.failures[0];
  if (!first) return EXIT.ok;
  return new XferError(first.code as XferError["code"], first.message).exitCode ?? EXIT.integrity;
}
