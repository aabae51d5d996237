import { type FecParams, parseFec } from "../../core/datagram/fec.ts";
import { XferError } from "../../core/errors.ts";
import type { EventSink } from "../../core/events.ts";
import { buildManifest } from "../../core/manifest.ts";
import { normalizeCode } from "../../core/secure/code.ts";
import { sendSession, settleTransports } from "../../core/session/run.ts";
import { ask, canAsk } from "../ask.ts";
import { parseEndpoint, STDIN_ARG } from "../parse.ts";
import { contextFor, loadTransports } from "../transports.ts";
import {
  type CommonFlags,
  codeOf,
  exitCodeOf,
  idleTimeoutMs,
  pluginPaths,
  reportDone,
  transportOptions,
} from "./common.ts";

export interface SendFlags extends CommonFlags {
  via: string;
  name?: string;
  followSymlinks?: boolean;
  allowLoss?: boolean;
  fec?: string;
}

export async function sendCommand(
  args: string[],
  flags: SendFlags,
  emit: EventSink,
  signal: AbortSignal,
): Promise<number> {
  if (args.length < 2) throw new XferError("usage", "usage: xfer send <path...> <host[:port]>");
  const destination = args[args.length - 1]!;
  const paths = args.slice(0, -1).map((p) => (p === STDIN_ARG ? "-" : p));
  if (paths.filter((p) => p === "-").length > 1) throw new XferError("usage", "standard input ('-') can be sent once");
  const to = parseEndpoint(destination);
  const registry = await loadTransports(pluginPaths(flags));
  const found = registry.get(flags.via);
  if (!found) throw new XferError("usage", `unknown transport '${flags.via}' (see: xfer transports)`);
  const entries = await buildManifest(paths, {
    followSymlinks: Boolean(flags.followSymlinks),
    // Links travel in stream sessions only (a datagram offer has no way to make them).
    symlinks: found.transport.kind === "stream",
    stdinName: flags.name ?? "stdin",
    onSkip: (path, reason) => emit({ event: "warning", message: `skipping ${path}: ${reason}` }),
  });
  if (!entries.some((e) => e.entry.kind === "file" || e.entry.kind === "dir"))
    throw new XferError("usage", "nothing to send");
  const code = codeOf(flags) ?? (await askCode(paths));
  const result = await sendSession({
    code,
    transport: found.transport,
    to,
    entries,
    ctx: contextFor(found.transport, transportOptions(flags), emit, Boolean(flags.verbose)),
    emit,
    // Touch process.stdin only when asked to: opening it has side effects on a TTY.
    stdin: paths.includes("-") ? (process.stdin as AsyncIterable<Uint8Array>) : (async function* () {})(),
    signal,
    idleTimeoutMs: idleTimeoutMs(flags),
    allowLoss: Boolean(flags.allowLoss),
    fec: flags.fec === undefined ? undefined : fecOf(String(flags.fec), found.transport.kind),
  }).finally(() => settleTransports([found.transport]));
  reportDone(emit, result);
  return exitCodeOf(result);
}

/** Without --code or XFER_CODE, a person at a terminal is asked; a script gets a usage error. */
async function askCode(paths: string[]): Promise<string> {
  const missing = "the receiver printed a code: pass it with --code CODE or the XFER_CODE variable";
  if (!canAsk() || paths.includes("-")) throw new XferError("usage", missing);
  return normalizeCode(await ask("Code shown by the receiver: "));
}

function fecOf(text: string, kind: string): FecParams {
  if (kind !== "datagram") throw new XferError("usage", "--fec applies to datagram transports (udp-raw)");
  try {
    return parseFec(text);
  } catch (err) {
    throw new XferError("usage", (err as Error).message);
  }
}
