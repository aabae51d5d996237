import { stat } from "node:fs/promises";
import { type FecParams, parseFec } from "../../core/datagram/fec.ts";
import { XferError } from "../../core/errors.ts";
import type { EventSink } from "../../core/events.ts";
import { buildManifest } from "../../core/manifest.ts";
import { discover } from "../../core/rendezvous/discovery.ts";
import { roomOf } from "../../core/rendezvous/room.ts";
import { generateCode, normalizeCode } from "../../core/secure/code.ts";
import { sendSession, settleTransports } from "../../core/session/run.ts";
import type { Endpoint } from "../../plugin/api.ts";
import { ask, canAsk } from "../ask.ts";
import { formatEndpoint, parseEndpoint, STDIN_ARG } from "../parse.ts";
import {
  discoveryTargets,
  type RelayFlags,
  relayMeeting,
  relayOf,
  relayPasswordOf,
  relayPlan,
  WAIT_AT_RELAY_MS,
} from "../rendezvous.ts";
import { checkTransportOptions, rateProblem } from "../transport-options.ts";
import { contextFor, loadTransports } from "../transports.ts";
import { watchForAnswer } from "../waiting.ts";
import {
  type CommonFlags,
  codeOf,
  exitCodeOf,
  idleTimeoutMs,
  pluginPaths,
  reportDone,
  transportOptions,
} from "./common.ts";

export interface SendFlags extends CommonFlags, RelayFlags {
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
  const given = args.map(String);
  const relay = relayOf(flags);
  const destination = await destinationOf(given, flags, relay !== null);
  const paths = (destination === null ? given : given.slice(0, -1)).map((p) => (p === STDIN_ARG ? "-" : p));
  if (paths.filter((p) => p === "-").length > 1) throw new XferError("usage", "standard input ('-') can be sent once");
  if (destination !== null) await refuseLocalPathAsDestination(destination);
  /** No destination and no relay: the receiver is looked for on the local network, once the code is known. */
  const onLan = destination === null && relay === null;
  const registry = await loadTransports(pluginPaths(flags));
  const via = flags.via === undefined ? "tcp-stream" : String(flags.via);
  const found = registry.get(via);
  if (!found) throw new XferError("usage", `unknown transport '${via}' (see: xfer transports)`);
  const plan =
    destination === null && relay !== null
      ? relayPlan(flags.via === undefined ? undefined : via, (name) => registry.get(name)?.transport)
      : null;
  const options = transportOptions(flags);
  checkTransportOptions([found.transport], options);
  const rate = rateProblem([found.transport], options);
  if (rate) throw new XferError("usage", rate);
  const entries = await buildManifest(paths, {
    followSymlinks: Boolean(flags.followSymlinks),
    // Links travel in stream sessions only (a datagram offer has no way to make them).
    symlinks: found.transport.kind === "stream",
    stdinName: String(flags.name ?? "stdin"),
    onSkip: (path, reason) => emit({ event: "warning", message: `skipping ${path}: ${reason}` }),
  });
  let files = 0;
  let dirs = 0;
  let totalBytes: number | null = 0;
  for (let i = 0; i < entries.length; i++) {
    if (entries.kind(i) === "dir") dirs++;
    if (entries.kind(i) !== "file") continue;
    files++;
    const size = entries.size(i);
    totalBytes = size === null || totalBytes === null ? null : totalBytes + size;
  }
  if (files + dirs === 0) throw new XferError("usage", "nothing to send");
  // Through a relay, whichever side comes first makes the code; to a direct address the receiver did.
  const givenCode = codeOf(flags);
  let code = givenCode ?? (destination === null && !onLan ? generateCode() : await askCode(paths));
  const to = onLan ? await findOnLan(code, emit, signal) : destination === null ? relay! : parseEndpoint(destination);
  const met =
    destination === null && !onLan
      ? relayMeeting({
          relay: relay!,
          plan: plan!,
          side: "send",
          code,
          regenerate: givenCode === null ? generateCode : undefined,
          password: relayPasswordOf(flags),
          bytes: totalBytes ?? undefined,
          emit,
          relayOnly: Boolean(flags.relayOnly),
        })
      : null;
  const transport = met?.transport ?? found.transport;
  emit({
    event: "sending",
    files,
    dirs: entries.length - files,
    totalBytes,
    to: met ? `relay ${formatEndpoint(to)}` : formatEndpoint(to),
    transport: transport.name,
  });
  // Through a relay the wait is for the other side to arrive, which the rendezvous event says.
  const waiting = met ? { emit, stop: () => {} } : watchForAnswer(found.transport, formatEndpoint(to), emit);
  const ctx = contextFor(found.transport, options, waiting.emit, Boolean(flags.verbose));
  if (met) code = await met.join(ctx, signal);
  const result = await sendSession({
    code,
    transport,
    to,
    dialTimeoutMs: met ? WAIT_AT_RELAY_MS : undefined,
    afterAuth: met?.afterAuth,
    entries,
    ctx,
    emit: waiting.emit,
    // Touch process.stdin only when asked to: opening it has side effects on a TTY.
    stdin: paths.includes("-") ? (process.stdin as AsyncIterable<Uint8Array>) : (async function* () {})(),
    signal,
    idleTimeoutMs: idleTimeoutMs(flags),
    allowLoss: Boolean(flags.allowLoss),
    fec: flags.fec === undefined ? undefined : fecOf(String(flags.fec), found.transport.kind),
  }).finally(() => {
    waiting.stop();
    return settleTransports(
      plan?.udp && plan.udp !== found.transport ? [found.transport, plan.udp] : [found.transport],
    );
  });
  reportDone(emit, result);
  return exitCodeOf(result);
}

const NO_DESTINATION =
  "missing the destination: no relay is set, and no receiver with this code's number answered on the local network. Give the receiver's address last (xfer send <path...> <host[:port]>), or meet through a relay: run 'xfer relay' on a machine both sides reach and give both sides --relay <host[:port]> (or XFER_RELAY)";
/** How long a sender with no destination asks the local network. */
const DISCOVERY_TIMEOUT_MS = 1500;

/** The receiver on the local network whose code has this code's number, by broadcast; else the usage error. */
async function findOnLan(code: string, emit: EventSink, signal: AbortSignal): Promise<Endpoint> {
  const targets = discoveryTargets();
  const found = targets.length
    ? await discover({ room: roomOf(code), targets, timeoutMs: DISCOVERY_TIMEOUT_MS, signal })
    : null;
  if (!found) throw new XferError("usage", NO_DESTINATION);
  const at = formatEndpoint(found);
  emit({ event: "path", path: "direct", via: at, rttMs: Number(found.rttMs.toFixed(2)), peer: at });
  return found;
}

/**
 * The last argument is the destination, except through a relay: with --relay every argument is a path,
 * and with XFER_RELAY set so is a last argument that is a local file or folder.
 */
async function destinationOf(given: string[], flags: SendFlags, relay: boolean): Promise<string | null> {
  if (flags.relay !== undefined && String(flags.relay) !== "") return null;
  if (given.length < 2) return null;
  const last = given[given.length - 1]!;
  if (relay && last !== STDIN_ARG && (await isLocal(last))) return null;
  return last;
}

async function isLocal(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * `xfer send f1 f2` would dial a host named f2: when the last argument is a local file or folder
 * (and has no port), the destination was most likely forgotten.
 */
async function refuseLocalPathAsDestination(destination: string): Promise<void> {
  if (destination === STDIN_ARG || destination.includes(":")) return;
  if (await isLocal(destination))
    throw new XferError(
      "usage",
      `'${destination}' is a local file or folder, yet it is where the destination goes: add the receiver's host[:port] last (xfer send <path...> <host[:port]>), or meet through a relay with --relay <host[:port]>`,
    );
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
